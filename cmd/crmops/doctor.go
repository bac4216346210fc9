package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/doctor"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

// doctorTimeout bounds the checks that talk to a server (the remote, the
// CRM): a doctor that hangs diagnoses nothing.
const doctorTimeout = 2 * time.Minute

func newDoctorCmd(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the repository end to end: configuration, remote, policy, forge, CRM, inputs, workflows, agents",
		Long: "doctor checks that everything crmops needs works, one line per check, and exits 1 if any fails:\n\n" +
			"  configuration    crmops.yaml loads, every detector's settings included\n" +
			"  remote           the git remote answers and has the base branch (fetched as every command does)\n" +
			"  policy           policies/default.yaml on the base branch loads and its tests (policies/tests) pass\n" +
			"  forge            local: the remote is configured; github: forge.token_env and GITHUB_REPOSITORY are set\n" +
			"  crm              sqlite: the database opens and holds records; hubspot, salesforce: the credentials\n" +
			"                   are set and a read works\n" +
			"  detector inputs  every input file the detectors' settings name exists\n" +
			"  workflows        each file in .github/workflows parses as a workflow\n" +
			"  agents           every agents: entry is valid and allows something\n\n" +
			"Credentials are named by their variables, never shown.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks, secrets := runDoctor(cmd.Context(), f)
			doctor.Scrub(checks, secrets...)
			failed := doctor.Failed(checks)
			if asJSON {
				if err := writeJSON(f, doctorJSON{OK: failed == 0, Failed: failed, Checks: checks}); err != nil {
					return err
				}
			} else {
				fancy := f.doctorColors()
				f.quoted(func(w io.Writer) { doctor.Print(w, checks, fancy) })
			}
			if failed > 0 {
				return &exitCodeError{code: exitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	return cmd
}

// doctorJSON is doctor --json.
type doctorJSON struct {
	OK     bool           `json:"ok"`
	Failed int            `json:"failed"`
	Checks []doctor.Check `json:"checks"`
}

// runDoctor runs every check in order, skipping those an earlier failure
// leaves nothing to check on. It returns the checks and the values of the
// credential variables crmops.yaml names, for doctor.Scrub.
func runDoctor(ctx context.Context, f *factory) ([]doctor.Check, []string) {
	ws, err := f.openWorkspace()
	if err != nil {
		name := config.File
		if f.configPath != "" {
			name = f.configPath
		}
		checks := []doctor.Check{doctor.Configuration(name, nil, err)}
		for _, n := range []string{doctor.NameRemote, doctor.NamePolicy, doctor.NameForge, doctor.NameCRM, doctor.NameInputs, doctor.NameWorkflows, doctor.NameAgents} {
			checks = append(checks, doctor.Skip(n, "the configuration does not load"))
		}
		return checks, nil
	}
	cfg := ws.Config
	secrets := []string{f.getenv(cfg.CRM.TokenEnv), f.getenv(cfg.Forge.TokenEnv)}
	for _, v := range []string{cfg.CRM.ClientIDEnv, cfg.CRM.ClientSecretEnv} {
		if v != "" {
			secrets = append(secrets, f.getenv(v))
		}
	}
	name, _ := f.configFile(ws)
	detectorList := f.configuredDetectorList(ws)
	checks := []doctor.Check{doctor.Configuration(name, cfg, f.checkDetectors(ws))}

	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	// On GitHub the forge sets the credentials an https remote is fetched
	// with; whether it is usable is the forge check's to say.
	_, _ = f.forgeOf(ws)
	url, urlErr := ws.Git.RemoteURL(ws.Remote())
	remote, base := doctor.Remote(ctx, ws, ws.Remote(), ws.Branch(), url)
	checks = append(checks, remote)

	where := ws.Remote() + "/" + ws.Branch()
	if base.IsZero() {
		// The remote did not answer: the local base branch is the best
		// guess at the policy crmops would judge by.
		if local, err := ws.Git.Ref(gitrepo.BranchRef(ws.Branch())); err == nil {
			base, where = local, ws.Branch()+" (local; the remote did not answer)"
		}
	}
	if base.IsZero() {
		checks = append(checks, doctor.Skip(doctor.NamePolicy, "no base branch to read it from"))
	} else {
		checks = append(checks, doctor.Policy(commitTree{ws.Git, base}, where))
	}

	checks = append(checks,
		doctor.Forge(cfg.Forge, url, urlErr, f.getenv),
		doctor.CRM(ctx, cfg, f.getenv, ws.Path(cfg.CRM.Path), func() (crm.Connector, error) { return f.connector(ws) }),
		doctor.CheckInputs(name, doctor.Inputs(detectorList), func(p string) (os.FileInfo, error) { return os.Stat(ws.Path(p)) }),
		doctor.Workflows(os.DirFS(ws.Dir)),
		doctor.Agents(name, cfg.Agents),
	)
	return checks, secrets
}

// commitTree is the repository's files at one commit, for doctor.Policy.
type commitTree struct {
	git    *gitrepo.Repo
	commit gitrepo.Hash
}

func (t commitTree) ReadFile(path string) ([]byte, error) { return t.git.ReadFile(t.commit, path) }

func (t commitTree) ListFiles(dir string) ([]string, error) { return t.git.ListFiles(t.commit, dir) }

var _ doctor.Syncer = (*workspace.Workspace)(nil)

// doctorColors reports whether doctor marks its checks with coloured ✓
// and ✗: on a terminal, unless NO_COLOR is set (https://no-color.org) or
// TERM is dumb.
func (f *factory) doctorColors() bool {
	file, ok := f.out.(*os.File)
	if !ok || f.getenv("NO_COLOR") != "" || f.getenv("TERM") == "dumb" {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
