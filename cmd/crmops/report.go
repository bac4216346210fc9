package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/report"
)

func newReportCmd(f *factory) *cobra.Command {
	var since, htmlFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report [--since DATE] [--html FILE] [--json]",
		Short: "What the loop did: volumes, auto vs approved vs rejected, stale, time to approval",
		Long: "Reports what the loop did, from the base branch's batches, receipts and rejections and the\n" +
			"open proposals: changes proposed and how they ended (auto, approved, rejected, stale, failed,\n" +
			"skipped, refused, pending) per ISO week, detector, rule and kind; time from proposal to\n" +
			"first approval (median, p90); the top rejection reasons; and the batches a blast-radius\n" +
			"limit held for review.\n\n" +
			"The report is Markdown for a GitHub job summary (crmops report >> \"$GITHUB_STEP_SUMMARY\"),\n" +
			"or JSON with --json. --html FILE also writes a self-contained page (inline CSS and SVG charts,\n" +
			"nothing fetched) to forward. --since DATE (YYYY-MM-DD, UTC, or RFC 3339) counts only the\n" +
			"batches created at or after it.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since) // policy simulate's: a date or an RFC 3339 time
			if err != nil {
				return err
			}
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			base, err := ws.Sync(cmd.Context())
			if err != nil {
				return err
			}
			fg, err := f.forgeOf(ws)
			if err != nil {
				return err
			}
			opens, err := fg.List(cmd.Context())
			if err != nil {
				return fmt.Errorf("report: open proposals: %w", err)
			}
			history, err := report.Load(report.Source{Git: ws.Git, Base: base, Remote: ws.Remote(), Opens: opens}, from)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			rep := report.Build(history, report.Options{Now: f.now(), Since: from, Branch: ws.Branch(), Base: base.String()})
			if htmlFile != "" {
				if err := writeHTML(htmlFile, rep); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(f, rep)
			}
			_, err = fmt.Fprint(f.out, report.Markdown(rep))
			return err
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "count only batches created at or after DATE (YYYY-MM-DD, UTC, or RFC 3339)")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the report as a self-contained HTML page to FILE")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	return cmd
}

// writeHTML renders the page in full before it replaces file, so a failed
// render leaves no half page.
func writeHTML(file string, rep *report.Report) error {
	var page bytes.Buffer
	if err := report.HTML(&page, rep); err != nil {
		return fmt.Errorf("report --html: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".crmops-report-*.html")
	if err != nil {
		return fmt.Errorf("report --html %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(page.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("report --html %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report --html %s: %w", file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report --html %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("report --html %s: %w", file, err)
	}
	return nil
}
