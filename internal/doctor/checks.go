package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Configuration reports on loading crmops.yaml: err is what loading it and
// building its detectors said (config.Load, then ValidateDetectors).
func Configuration(file string, cfg *config.Config, err error) Check {
	if err != nil {
		return Fail(NameConfig, "%s", errText(err))
	}
	names := make([]string, 0, len(cfg.Detectors))
	for n := range cfg.Detectors {
		names = append(names, n)
	}
	sort.Strings(names)
	dets := "no detectors"
	if len(names) > 0 {
		dets = "detectors " + strings.Join(names, ", ")
	}
	return Pass(NameConfig, "%s is valid: crm %s, forge %s, %s", file, cfg.CRM.Kind, cfg.Forge.Kind, dets)
}

// Syncer fetches the base branch from the remote and returns its commit
// (workspace.Workspace.Sync).
type Syncer interface {
	Sync(ctx context.Context) (gitrepo.Hash, error)
}

// Remote checks that the remote answers and has the base branch, by
// syncing with it as every command does. url is the remote's URL (its
// credentials are not shown). It returns the base commit, zero when the
// check failed.
func Remote(ctx context.Context, s Syncer, remote, branch, url string) (Check, gitrepo.Hash) {
	where := remote
	if url != "" {
		where += " (" + RedactURL(url) + ")"
	}
	base, err := s.Sync(ctx)
	if err != nil {
		return Fail(NameRemote, "%s: %s", where, errText(err)), gitrepo.ZeroHash
	}
	short := base.String()
	if len(short) > 10 {
		short = short[:10]
	}
	return Pass(NameRemote, "%s is reachable; %s is at %s", where, branch, short), base
}

// Tree is the base branch's files at one commit.
type Tree interface {
	// ReadFile returns a file's content, or an error wrapping
	// fs.ErrNotExist.
	ReadFile(path string) ([]byte, error)
	// ListFiles returns the paths of the files below dir, recursively;
	// none for a missing dir.
	ListFiles(dir string) ([]string, error)
}

// Policy checks that the policy on the base branch (t, named where, e.g.
// "origin/main") loads and that its tests, the files directly in
// policies/tests on the same branch, all pass: the policy crmops check
// judges by, tested as crmops policy test would.
func Policy(t Tree, where string) Check {
	data, err := t.ReadFile(policy.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Fail(NamePolicy, "%s has no %s; run crmops init to write the default one", where, policy.Path)
		}
		return Fail(NamePolicy, "%s on %s: %s", policy.Path, where, errText(err))
	}
	pol, err := policy.Load(policy.Path, data)
	if err != nil {
		return Fail(NamePolicy, "%s on %s: %s", policy.Path, where, errText(err))
	}
	files, err := t.ListFiles(policytest.Dir)
	if err != nil {
		return Fail(NamePolicy, "%s on %s: %s", policytest.Dir, where, errText(err))
	}
	var cases []policytest.Case
	seen := map[string]policytest.Case{}
	for _, p := range files {
		if path.Dir(p) != policytest.Dir || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			continue // policytest.Load reads the files directly in the folder
		}
		data, err := t.ReadFile(p)
		if err != nil {
			return Fail(NamePolicy, "%s on %s: %s", p, where, errText(err))
		}
		cs, err := policytest.Decode(p, data)
		if err != nil {
			return Fail(NamePolicy, "%s", errText(err))
		}
		for _, c := range cs {
			if first, dup := seen[c.Name]; dup {
				return Fail(NamePolicy, "%s", (&strictyaml.Error{File: c.File, Line: c.Line, Key: "name",
					Msg: fmt.Sprintf("duplicate case name %q (first used at %s)", c.Name, first.Where())}).Error())
			}
			seen[c.Name] = c
		}
		cases = append(cases, cs...)
	}
	if len(cases) == 0 {
		return Pass(NamePolicy, "%s on %s loads; it has no tests in %s/ (crmops policy test --help shows the format)", policy.Path, where, policytest.Dir)
	}
	results := policytest.Run(pol, cases)
	if failed := policytest.Failed(results); failed > 0 {
		for _, r := range results {
			if !r.Pass {
				return Fail(NamePolicy, "%d of %d test case(s) fail on %s; first %s: %s (crmops policy test shows why)",
					failed, len(results), where, r.Case.Where(), oneLine(r.Diff()))
			}
		}
	}
	return Pass(NamePolicy, "%s on %s loads; its %d test case(s) pass", policy.Path, where, len(results))
}

// Forge checks that the review system crmops.yaml names is usable: on the
// local forge, that its remote is configured (remoteURL, or remoteErr when
// it is not) and, when it is a path, exists; on GitHub, that the token
// variable forge.token_env names and GITHUB_REPOSITORY are set. Only the
// variables' names are shown.
func Forge(f config.Forge, remoteURL string, remoteErr error, getenv func(string) string) Check {
	switch f.Kind {
	case "local":
		if remoteErr != nil {
			return Fail(NameForge, "local: proposals go to the remote %s, which is not configured: %s (crmops init adds one, or git remote add %s URL)", f.Remote, errText(remoteErr), f.Remote)
		}
		if p, ok := localPath(remoteURL); ok {
			if _, err := os.Stat(p); err != nil {
				return Fail(NameForge, "local: the remote %s is %s, which does not exist", f.Remote, p)
			}
		}
		return Pass(NameForge, "local: proposals are branches on %s (%s)", f.Remote, RedactURL(remoteURL))
	case "github":
		var problems []string
		if getenv(f.TokenEnv) == "" {
			problems = append(problems, fmt.Sprintf("$%s (forge.token_env) is not set; set it to a token that may open pull requests", f.TokenEnv))
		}
		repo := getenv("GITHUB_REPOSITORY")
		if owner, name, ok := strings.Cut(repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			if repo == "" {
				problems = append(problems, "$GITHUB_REPOSITORY is not set; set it to owner/repo (GitHub Actions sets it)")
			} else {
				problems = append(problems, fmt.Sprintf("$GITHUB_REPOSITORY is %q, not owner/repo", repo))
			}
		}
		if len(problems) > 0 {
			return Fail(NameForge, "github: %s", strings.Join(problems, "; "))
		}
		return Pass(NameForge, "github: %s, token in $%s", repo, f.TokenEnv)
	default:
		return Fail(NameForge, "forge.kind %q is not supported by this build", f.Kind)
	}
}

// localPath returns the directory a remote URL names on this machine.
func localPath(u string) (string, bool) {
	if p, ok := strings.CutPrefix(u, "file://"); ok {
		return filepath.FromSlash(p), true
	}
	if filepath.IsAbs(u) {
		return u, true
	}
	return "", false
}

// Opener connects to the CRM crmops.yaml names (the factory's connector).
type Opener func() (crm.Connector, error)

// recordCounter is what the embedded CRM tells about its contents.
type recordCounter interface {
	Objects(ctx context.Context) ([]string, error)
	Count(ctx context.Context, object string) (int, error)
}

// CRM checks that the CRM is reachable. sqlite: the database at dbPath
// exists, opens and holds records (it is not created). hubspot: the token
// variable is set and a read of a record that does not exist succeeds.
// salesforce: the instance URL and the token or client credentials are
// set and the same read succeeds. Credentials are named, never shown.
func CRM(ctx context.Context, cfg *config.Config, getenv func(string) string, dbPath string, open Opener) Check {
	c := cfg.CRM
	var object, id string
	var fields []string
	switch c.Kind {
	case "sqlite":
		if _, err := os.Stat(dbPath); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Fail(NameCRM, "sqlite: there is no database at %s (crm.path) yet; load records with crmops crm import OBJECT FILE", c.Path)
			}
			return Fail(NameCRM, "sqlite: %s: %s", c.Path, errText(unwrapPath(err)))
		}
		return sqliteCheck(ctx, c.Path, open)
	case "hubspot":
		if getenv(c.TokenEnv) == "" {
			return Fail(NameCRM, "hubspot: $%s (crm.token_env) is not set; set it to a private app's access token", c.TokenEnv)
		}
		object, id, fields = "contacts", "0", []string{"email"}
	case "salesforce":
		if _, err := cfg.SalesforceInstanceURL(getenv); err != nil {
			return Fail(NameCRM, "salesforce: %s", errText(err))
		}
		if c.ClientIDEnv != "" {
			var unset []string
			for _, v := range []string{c.ClientIDEnv, c.ClientSecretEnv} {
				if getenv(v) == "" {
					unset = append(unset, "$"+v)
				}
			}
			if len(unset) > 0 {
				return Fail(NameCRM, "salesforce: %s (crm.client_id_env, crm.client_secret_env) not set; set them to the connected app's consumer key and secret", strings.Join(unset, " and "))
			}
		} else if getenv(c.TokenEnv) == "" {
			return Fail(NameCRM, "salesforce: $%s (crm.token_env) is not set; set it to an access token, or use client_id_env and client_secret_env", c.TokenEnv)
		}
		// A well-formed Contact id no org has: the read is one query.
		object, id, fields = "Contact", "003000000000000", []string{"Id"}
	default:
		return Fail(NameCRM, "crm.kind %q is not supported by this build", c.Kind)
	}
	conn, err := open()
	if err != nil {
		return Fail(NameCRM, "%s: %s", c.Kind, errText(err))
	}
	defer conn.Close()
	if _, err := conn.Get(ctx, object, []string{id}, fields); err != nil {
		return Fail(NameCRM, "%s: reading %s failed: %s", c.Kind, object, errText(err))
	}
	return Pass(NameCRM, "%s: connected and read %s", c.Kind, object)
}

func sqliteCheck(ctx context.Context, where string, open Opener) Check {
	conn, err := open()
	if err != nil {
		return Fail(NameCRM, "sqlite: %s", errText(err))
	}
	defer conn.Close()
	rc, ok := conn.(recordCounter)
	if !ok {
		return Pass(NameCRM, "sqlite: %s opens", where)
	}
	objects, err := rc.Objects(ctx)
	if err != nil {
		return Fail(NameCRM, "sqlite: %s: %s", where, errText(err))
	}
	var counts []string
	total := 0
	for _, o := range objects {
		n, err := rc.Count(ctx, o)
		if err != nil {
			return Fail(NameCRM, "sqlite: %s: %s", where, errText(err))
		}
		total += n
		counts = append(counts, fmt.Sprintf("%d %s", n, o))
	}
	if total == 0 {
		return Fail(NameCRM, "sqlite: %s opens but holds no records; load some with crmops crm import OBJECT FILE", where)
	}
	return Pass(NameCRM, "sqlite: %s holds %s", where, strings.Join(counts, ", "))
}

// WorkflowsDir is where GitHub looks for workflows.
const WorkflowsDir = ".github/workflows"

// Workflows checks, lightly, the GitHub workflows in fsys (the checkout):
// each file in .github/workflows parses as YAML and is a mapping with on:
// and jobs:. A repository without workflows passes.
func Workflows(fsys fs.FS) Check {
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := fs.Glob(fsys, WorkflowsDir+"/"+pat)
		if err != nil {
			return Fail(NameWorkflows, "%s: %s", WorkflowsDir, errText(err))
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return Pass(NameWorkflows, "none in %s/", WorkflowsDir)
	}
	var problems []string
	for _, f := range files {
		if err := workflow(fsys, f); err != nil {
			problems = append(problems, errText(err))
		}
	}
	if len(problems) > 0 {
		return Fail(NameWorkflows, "%s", strings.Join(problems, "; "))
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = path.Base(f)
	}
	return Pass(NameWorkflows, "%s parse as workflows", strings.Join(names, ", "))
}

func workflow(fsys fs.FS, file string) error {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return fmt.Errorf("%s: %w", file, unwrapPath(err))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return fmt.Errorf("%s:%s: invalid YAML: %s", file, m[1], msg[len(m[0]):])
		}
		return fmt.Errorf("%s: invalid YAML: %s", file, strings.TrimPrefix(msg, "yaml: "))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a workflow (want a mapping with on: and jobs:)", file)
	}
	top := doc.Content[0]
	has := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		has[top.Content[i].Value] = true
	}
	var missing []string
	for _, k := range []string{"on", "jobs"} {
		if !has[k] {
			missing = append(missing, k+":")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s:%d: not a workflow: no %s", file, top.Line, strings.Join(missing, " or "))
	}
	return nil
}

// Agents checks the agents: entries. config.Parse has refused invalid
// names, objects, fields and limits already; an entry that lets its agent
// do nothing (no read:, propose: or merge:) is most likely a mistake.
func Agents(file string, agents map[string]config.Agent) Check {
	if len(agents) == 0 {
		return Pass(NameAgents, "none configured (crmops mcp needs one; README: \"Connecting an AI agent\")")
	}
	names := make([]string, 0, len(agents))
	for n := range agents {
		names = append(names, n)
	}
	sort.Strings(names)
	var problems, described []string
	for _, n := range names {
		a := agents[n]
		if len(a.Read) == 0 && len(a.Propose) == 0 && len(a.Merge) == 0 {
			problems = append(problems, a.Pos.Errorf(file, "", "agent %s may do nothing: give it read:, propose: or merge:", n).Error())
			continue
		}
		auto := ""
		if a.Auto {
			auto = ", auto"
		}
		described = append(described, fmt.Sprintf("%s (reads %d, proposes on %d, merges %d object(s), %d changes/hour%s)",
			n, len(a.Read), len(a.Propose), len(a.Merge), a.MaxChangesPerHour, auto))
	}
	if len(problems) > 0 {
		return Fail(NameAgents, "%s", strings.Join(problems, "; "))
	}
	return Pass(NameAgents, "%s", strings.Join(described, "; "))
}
