package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
	"github.com/crmops/crmops/internal/schema"
)

// LocalRemote is where init puts the local forge's bare repository when the
// repository has no remote yet. It is inside .crmops/, which is git-ignored.
const LocalRemote = ".crmops/remote.git"

// Ignore is what init adds to .gitignore: the embedded CRM, the local forge
// and apply's partial receipts are machine state, never history.
const Ignore = ".crmops/\n"

// InitOptions choose what init scaffolds.
type InitOptions struct {
	// GitHubLogin, when set, scaffolds for the GitHub forge: crmops.yaml
	// says forge github with this login, and the default policy's auto
	// rules trust only it (the identity the workflows act as).
	GitHubLogin string
	// CRM is the connector to configure: "" or sqlite (the embedded CRM),
	// or salesforce, whose configuration, detectors, policy and policy
	// tests use Salesforce's object and field names.
	CRM string
	// SalesforceDetectors is the detectors: section for a Salesforce
	// repository (detectors.SalesforceSettings; passed in, as the
	// detectors are not this package's to import).
	SalesforceDetectors string
}

// Init scaffolds a change-request repository in dir: configuration, the
// default policy, proposals/, and a remote to propose to. Files already
// committed are left alone, so init is safe to run twice.
func Init(ctx context.Context, dir string, at time.Time, opts InitOptions) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("init %s: %w", abs, err)
	}
	repo, err := openOrInit(abs)
	if err != nil {
		return nil, err
	}
	if _, err := repo.RemoteURL("origin"); err != nil {
		if err := createLocalRemote(abs, repo); err != nil {
			return nil, err
		}
	}
	head, err := repo.Ref(gitrepo.BranchRef(gitrepo.DefaultBranch))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		head = gitrepo.ZeroHash
	} else if err != nil {
		return nil, err
	}
	files, err := scaffold(abs, repo, head, opts)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		who := gitrepo.Identity{Name: "crmops", Email: LoginEmail("crmops"), When: at}
		var parents []gitrepo.Hash
		if !head.IsZero() {
			parents = []gitrepo.Hash{head}
		}
		commit, err := repo.CommitTree(gitrepo.CommitOptions{
			Base: head, Parents: parents, Files: files,
			Message: "crmops init: configuration, default policy, proposals/\n",
			Author:  who, Committer: who,
		})
		if err != nil {
			return nil, err
		}
		if err := repo.AdvanceBranch(gitrepo.DefaultBranch, head, commit); err != nil {
			return nil, fmt.Errorf("init %s: %w", abs, err)
		}
	}
	ws, err := Open(abs, "")
	if err != nil {
		return nil, err
	}
	main := gitrepo.BranchRef(ws.Branch())
	if err := repo.Push(ctx, ws.Remote(), main+":"+main); err != nil {
		return nil, fmt.Errorf("init: push %s to %s: %w", ws.Branch(), ws.Remote(), err)
	}
	if _, err := ws.Sync(ctx); err != nil {
		return nil, err
	}
	return ws, nil
}

func openOrInit(dir string) (*gitrepo.Repo, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return gitrepo.Open(dir)
	}
	return gitrepo.Init(dir, "")
}

func createLocalRemote(dir string, repo *gitrepo.Repo) error {
	remote := filepath.Join(dir, LocalRemote)
	if err := gitrepo.InitBare(remote); err != nil {
		return err
	}
	return repo.AddRemote("origin", remote)
}

// scaffold returns the files init must add: those not yet committed.
func scaffold(dir string, repo *gitrepo.Repo, head gitrepo.Hash, opts InitOptions) (map[string][]byte, error) {
	var trusted []string
	cfg := config.Default
	if opts.GitHubLogin != "" {
		trusted = []string{opts.GitHubLogin}
		cfg = config.DefaultGitHub(opts.GitHubLogin)
	}
	vocabulary := func(text string) string { return text }
	switch opts.CRM {
	case "", "sqlite":
	case "salesforce":
		cfg = config.ForSalesforce(cfg, opts.SalesforceDetectors)
		vocabulary = policy.ForSalesforce
	default:
		return nil, fmt.Errorf("init: --crm is sqlite or salesforce, not %q", opts.CRM)
	}
	want := map[string][]byte{
		config.File:          []byte(cfg),
		policy.Path:          []byte(vocabulary(policy.DefaultFor(trusted))),
		"proposals/.gitkeep": nil,
	}
	// Tests covering every rule of the default policy, for crmops policy test.
	for p, content := range policytest.DefaultTestsFor(trusted) {
		want[p] = []byte(vocabulary(string(content)))
	}
	// The JSON Schemas the files above, and every file crmops writes, name
	// on their first line by a path relative to themselves.
	for p, content := range schema.Files() {
		want[p] = content
	}
	committed := func(p string) ([]byte, bool) {
		if head.IsZero() {
			return nil, false
		}
		data, err := repo.ReadFile(head, p)
		return data, err == nil
	}
	files := map[string][]byte{}
	for p, content := range want {
		if _, ok := committed(p); ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return nil, fmt.Errorf("init: %s exists but is not committed; commit or remove it first", p)
		}
		files[p] = content
	}
	ignore, ok := committed(".gitignore")
	if !ok {
		if _, err := os.Stat(filepath.Join(dir, ".gitignore")); err == nil {
			return nil, fmt.Errorf("init: .gitignore exists but is not committed; commit or remove it first")
		}
	}
	if !strings.Contains("\n"+string(ignore), "\n.crmops/") {
		if len(ignore) > 0 && !strings.HasSuffix(string(ignore), "\n") {
			ignore = append(ignore, '\n')
		}
		files[".gitignore"] = append(ignore, Ignore...)
	}
	return files, nil
}
