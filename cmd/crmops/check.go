package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/check"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workspace"
)

func newCheckCmd(f *factory) *cobra.Command {
	var asJSON bool
	var policyFile string
	cmd := &cobra.Command{
		Use:   "check [PATH]...",
		Short: "Validate batch files and print each change's decision and rule (exit 3 if any is invalid or denied)",
		RunE: func(cmd *cobra.Command, a []string) error {
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			pol, err := checkPolicy(ws, policyFile)
			if err != nil {
				return err
			}
			paths := a
			if len(paths) == 0 {
				paths = []string{filepath.Join(ws.Dir, batch.Dir)}
			}
			files, err := check.Expand(paths)
			if err != nil {
				return err
			}
			rows := check.Files(ws.Dir, files, pol)
			failed := 0
			for _, r := range rows {
				if r.Failed() {
					failed++
				}
			}
			if asJSON {
				if rows == nil {
					rows = []check.Row{}
				}
				if err := writeJSON(f, rows); err != nil {
					return err
				}
			} else {
				for _, r := range rows {
					switch {
					case r.Error != "":
						fmt.Fprintf(f.out, "error  %s\n", r.Error)
					default:
						fmt.Fprintf(f.out, "%-6s %s %s  (%s)\n", r.Decision, r.File, r.Change, r.Rule)
					}
				}
				fmt.Fprintf(f.out, "%d file(s), %d row(s), %d invalid or denied\n", len(files), len(rows), failed)
			}
			if failed > 0 {
				return &exitCodeError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	cmd.Flags().StringVar(&policyFile, "policy", "", "judge under this policy file instead of the base branch's")
	return cmd
}

// checkPolicy is the policy of the base branch, as last fetched: a pull
// request must not be judged by the policy it brings along. Without a base
// branch yet, the checkout's policy is used.
func checkPolicy(ws *workspace.Workspace, file string) (*policy.Policy, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		return policy.Load(file, data)
	}
	for _, ref := range []string{ws.RemoteRef(), gitrepo.BranchRef(ws.Branch())} {
		h, err := ws.Git.Ref(ref)
		if errors.Is(err, gitrepo.ErrRefNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pol, _, err := ws.PolicyAt(h)
		return pol, err
	}
	data, err := os.ReadFile(ws.Path(policy.Path))
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return policy.Load(policy.Path, data)
}
