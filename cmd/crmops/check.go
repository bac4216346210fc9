package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/check"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workflows"
	"github.com/crmops/crmops/internal/workspace"
)

func newCheckCmd(f *factory) *cobra.Command {
	var asJSON, fromFork bool
	var policyFile, proposer string
	cmd := &cobra.Command{
		Use:   "check [PATH]...",
		Short: "Validate batch files and print each change's decision and rule (exit 3 if any is invalid or denied)",
		RunE: func(cmd *cobra.Command, a []string) error {
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			pol, base, err := checkPolicy(ws, policyFile, f.getenv("GITHUB_BASE_REF"))
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
			by, err := checkProposer(f, proposer, fromFork)
			if err != nil {
				return err
			}
			opts := check.Options{Proposer: by, Now: f.now()}
			if !base.IsZero() {
				opts.Merged = func(path string) (string, string, bool, error) { return ws.MergedVersion(base, path) }
			}
			rows := check.Files(ws.Dir, files, pol, opts)
			inActions := workflows.InActions(f.getenv)
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
				// In GitHub Actions, the rows quote pull-request files (an error
				// can carry a YAML key with a newline in it): the runner must not
				// read them as workflow commands.
				token := ""
				if inActions {
					token = workflows.NewToken()
					fmt.Fprintln(f.out, workflows.StopCommands(token))
				}
				for _, r := range rows {
					switch {
					case r.Error != "":
						fmt.Fprintf(f.out, "error  %s\n", display.Terminal(r.Error))
					default:
						fmt.Fprintf(f.out, "%-6s %s %s  (%s)\n", display.Terminal(r.Decision), display.Terminal(r.File), display.Terminal(r.Change), display.Terminal(r.Rule))
					}
				}
				fmt.Fprintf(f.out, "%d file(s), %d row(s), %d invalid or denied\n", len(files), len(rows), failed)
				if inActions {
					fmt.Fprintln(f.out, workflows.ResumeCommands(token))
				}
			}
			githubReport(f, rows, inActions, asJSON)
			if failed > 0 {
				return &exitCodeError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	cmd.Flags().StringVar(&policyFile, "policy", "", "judge under this policy file instead of the base branch's")
	cmd.Flags().StringVar(&proposer, "proposer", "", "judge the batches as proposed by this login (default: in a pull request's workflow run, its author)")
	cmd.Flags().BoolVar(&fromFork, "from-fork", false, "judge the batches as proposed from a fork")
	return cmd
}

// checkProposer is who the checked batches are judged as proposed by: the
// flags, else, in a pull request's workflow run, the pull request's author
// and whether it comes from a fork, as GitHub's event payload says (never
// as the batch says). Elsewhere it is unknown.
func checkProposer(f *factory, login string, fromFork bool) (policy.Proposer, error) {
	if login != "" || fromFork {
		return policy.Proposer{Login: login, Outside: fromFork}, nil
	}
	path := f.getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return policy.Proposer{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return policy.Proposer{}, fmt.Errorf("check: the workflow's event: %w", err)
	}
	var ev struct {
		PullRequest *struct {
			User struct {
				Login string `json:"login"`
			} `json:"user"`
			Head struct {
				Repo struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"head"`
			Base struct {
				Repo struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"base"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return policy.Proposer{}, fmt.Errorf("check: %s: %w", path, err)
	}
	if ev.PullRequest == nil {
		return policy.Proposer{}, nil
	}
	pr := ev.PullRequest
	return policy.Proposer{Login: pr.User.Login, Outside: !strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName)}, nil
}

// githubReport annotates the failed rows in a GitHub Actions step (on
// stderr with --json, so stdout stays JSON) and appends a table of all rows
// to the job summary when GITHUB_STEP_SUMMARY names a file. A summary that
// cannot be written is a warning: it must not change check's verdict.
func githubReport(f *factory, rows []check.Row, inActions, asJSON bool) {
	if inActions {
		w := f.out
		if asJSON {
			w = f.err
		}
		for _, a := range workflows.Annotations(rows) {
			fmt.Fprintln(w, a)
		}
	}
	if path := f.getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := workflows.AppendSummary(path, workflows.SummaryMarkdown(rows)); err != nil {
			fmt.Fprintln(f.err, "crmops: warning: "+err.Error())
		}
	}
}

// checkPolicy is the policy of the base branch, as last fetched: a pull
// request must not be judged by the policy it brings along. It returns the
// base commit too, whose history says which batches were merged as what;
// without a base branch yet, the checkout's policy is used and base is zero.
func checkPolicy(ws *workspace.Workspace, file, prBase string) (*policy.Policy, gitrepo.Hash, error) {
	base, err := checkBase(ws, prBase)
	if err != nil && file == "" {
		return nil, gitrepo.ZeroHash, err
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, base, fmt.Errorf("check: %w", err)
		}
		pol, err := policy.Load(file, data)
		return pol, base, err
	}
	if !base.IsZero() {
		pol, _, err := ws.PolicyAt(base)
		return pol, base, err
	}
	data, err := os.ReadFile(ws.Path(policy.Path))
	if err != nil {
		return nil, base, fmt.Errorf("check: %w", err)
	}
	pol, err := policy.Load(policy.Path, data)
	return pol, base, err
}

// checkBase is the base branch's commit as last fetched: in a pull
// request's check the base ref it names (the checkout holds the pull
// request's files), else the remote's base branch, else the local one;
// zero before the first commit.
func checkBase(ws *workspace.Workspace, prBase string) (gitrepo.Hash, error) {
	if prBase != "" {
		ref := "refs/remotes/" + ws.Remote() + "/" + prBase
		h, err := ws.Git.Ref(ref)
		if err != nil {
			return gitrepo.ZeroHash, fmt.Errorf("check: the base branch's policy is needed and %s is missing (fetch it: git fetch origin %s:%s): %w", ref, prBase, ref, err)
		}
		return h, nil
	}
	for _, ref := range []string{ws.RemoteRef(), gitrepo.BranchRef(ws.Branch())} {
		h, err := ws.Git.Ref(ref)
		if errors.Is(err, gitrepo.ErrRefNotFound) {
			continue
		}
		return h, err
	}
	return gitrepo.ZeroHash, nil
}
