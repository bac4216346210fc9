package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/apply"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/sample"
	"github.com/crmops/crmops/internal/workspace"
)

func newQuickstartCmd(f *factory) *cobra.Command {
	var seed int64
	var contacts, companies int
	cmd := &cobra.Command{
		Use:   "quickstart [DIR]",
		Short: "Run the whole loop offline on the embedded defaults, in DIR (default: a new temporary directory)",
		Long: "Creates a change-request repository with a sample CRM, proposes changes of all five kinds\n" +
			"(enrichment, dedupe, lifecycle, owner, email verification), merges and applies the ones the\n" +
			"default policy lets through, and leaves the rest open for your review.",
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			dir, err := quickstartDir(a)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.out, "crmops quickstart in %s\n\n", dir)
			ws, err := workspace.Init(ctx, dir, f.now(), workspace.InitOptions{})
			if err != nil {
				return err
			}
			f.repoDir, f.configPath = ws.Dir, ""

			data := sample.Generate(sample.Options{Seed: seed, Contacts: contacts, Companies: companies})
			inputs, err := data.Inputs()
			if err != nil {
				return err
			}
			objects := []struct {
				name string
				recs []crm.Record
			}{{"companies", data.Companies}, {"contacts", data.Contacts}}
			files := inputs.Files
			for _, obj := range objects {
				var buf bytes.Buffer
				if err := sample.WriteCSV(&buf, obj.recs); err != nil {
					return err
				}
				files["data/"+obj.name+".csv"] = buf.Bytes()
			}
			cfg, err := os.ReadFile(ws.Path(config.File))
			if err != nil {
				return err
			}
			files[config.File] = []byte(strings.Replace(string(cfg), "detectors: {}\n", inputs.Detectors, 1))
			who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: f.now()}
			if _, err := ws.CommitToBase(ctx, files, "quickstart: sample CRM exports, detector inputs and settings\n", who); err != nil {
				return err
			}
			if ws, err = workspace.Open(ws.Dir, ""); err != nil { // the new crmops.yaml
				return err
			}

			db, err := sqlite.Open(ws.Path(ws.Config.CRM.Path), sqlite.Options{Now: f.now})
			if err != nil {
				return err
			}
			for _, obj := range objects {
				if _, _, err := db.Upsert(ctx, obj.name, obj.recs, "quickstart"); err != nil {
					db.Close()
					return err
				}
			}
			db.Close()
			fmt.Fprintf(f.out, "1. Loaded a sample CRM: %d contacts, %d companies (.crmops/crm.db), and detector inputs under data/.\n", len(data.Contacts), len(data.Companies))

			names := configuredDetectors(ws)
			res, _, err := runDetectors(ctx, f, ws, names, propose.Options{}, nil)
			if err != nil {
				return err
			}
			changes := 0
			for _, o := range res.Outcomes {
				changes += o.Changes
			}
			fmt.Fprintf(f.out, "2. Ran the detectors (%s): %d changes in %d batches; the policy merged the auto ones:\n",
				strings.Join(names, ", "), changes, len(res.Outcomes))
			if err := printProposals(f, res, false); err != nil {
				return err
			}

			fg, err := f.forgeOf(ws)
			if err != nil {
				return err
			}
			db, err = sqlite.Open(ws.Path(ws.Config.CRM.Path), sqlite.Options{Now: f.now})
			if err != nil {
				return err
			}
			defer db.Close()
			applier := f.applier(ws, fg, db)
			applier.Log = nil
			rep, err := applier.Run(ctx, apply.Options{})
			if err != nil {
				return err
			}
			fmt.Fprintln(f.out, "\n3. Applied the merged batches with compare-and-swap; receipts are committed beside them:")
			if err := reportApply(f, rep, false); err != nil {
				return err
			}
			printNextSteps(f, ws.Dir, res)
			return nil
		},
	}
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of the sample data")
	cmd.Flags().IntVar(&contacts, "contacts", 300, "sample contacts")
	cmd.Flags().IntVar(&companies, "companies", 80, "sample companies")
	return cmd
}

func quickstartDir(a []string) (string, error) {
	if len(a) == 0 {
		return os.MkdirTemp("", "crmops-quickstart-")
	}
	dir, err := filepath.Abs(a[0])
	if err != nil {
		return "", err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", fmt.Errorf("quickstart: %s is not empty; give a new directory", dir)
	}
	return dir, nil
}

func printNextSteps(f *factory, dir string, res *propose.Result) {
	example := ""
	for _, o := range res.Outcomes {
		if o.State == "open" {
			example = o.Batch
			break
		}
	}
	fmt.Fprintf(f.out, "\nThe review batches are open. Try, in %s:\n", dir)
	fmt.Fprintf(f.out, "  cd %s\n", dir)
	fmt.Fprintln(f.out, "  crmops review list                      # what waits for a person")
	if example != "" {
		fmt.Fprintf(f.out, "  crmops review show %s\n", example)
		fmt.Fprintf(f.out, "  crmops review approve %s --as alice\n", example)
		fmt.Fprintf(f.out, "  crmops merge %s --as bob\n", example)
	}
	fmt.Fprintln(f.out, "  crmops apply                            # execute what was merged")
	fmt.Fprintln(f.out, "  crmops audit contacts/1001              # who changed what, when, under which policy")
	io.WriteString(f.out, "  git log --format='%h %s%n%b'            # the audit trail in plain git\n")
	fmt.Fprintln(f.out, "(crmops not on your PATH? In your clone of crmops: go install ./cmd/crmops, or go run ./cmd/crmops --repo DIR ...)")
}
