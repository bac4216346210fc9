package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildInfo is what this binary knows of how it was built: the version
// (version(), the one receipts record as executed_by crmops/<version>) and,
// when go build ran in a git checkout, the commit it was built from.
type buildInfo struct {
	Version string `json:"version"`
	// Commit is the full revision (vcs.revision); "" when the build did not
	// record one (go build -buildvcs=false, go run, a build outside git).
	Commit string `json:"commit"`
	// Time is the commit's time (vcs.time), RFC 3339.
	Time string `json:"time"`
	// Modified reports uncommitted changes in the checkout (vcs.modified).
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// currentBuild reads this binary's build information.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildInfoOf(version(), bi)
}

// buildInfoOf combines the version with the VCS settings go build recorded
// in bi (which may be nil).
func buildInfoOf(v string, bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: v, Go: runtime.Version()}
	if bi == nil {
		return b
	}
	if bi.GoVersion != "" {
		b.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the version as crmops --version prints it after the name:
// "dev (commit 2e1d920c1a2b, 2026-12-02T13:00:00Z, modified)".
func (b buildInfo) String() string {
	var about []string
	if b.Commit != "" {
		about = append(about, "commit "+shortCommit(b.Commit))
	}
	if b.Time != "" {
		about = append(about, b.Time)
	}
	if b.Modified {
		about = append(about, "modified")
	}
	if len(about) == 0 {
		if b.Version == "dev" {
			// Say that the commit is unknown, not that this is a release.
			return "dev (no commit recorded)"
		}
		return b.Version
	}
	return b.Version + " (" + strings.Join(about, ", ") + ")"
}

func shortCommit(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func newVersionCmd(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print crmops' version and the commit it was built from",
		Long: "Prints the version (the module's version, or the one the build was given), the commit\n" +
			"go build recorded from the git checkout it ran in, that commit's time, and whether the\n" +
			"checkout had uncommitted changes. Receipts name the version as executed_by crmops/VERSION.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := currentBuild()
			if asJSON {
				return writeJSON(f, b)
			}
			_, err := fmt.Fprintf(f.out, "%s %s\n", cmd.Root().Name(), b)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output: {version, commit, time, modified, go}")
	return cmd
}
