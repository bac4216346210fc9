package workflows_test

// The workflow templates in .github/workflows and the action in action.yml
// are what a change-request repository runs with write access to its main
// branch and its CRM. These tests hold the safety properties a reviewer
// would check, so that an edit that loses one fails here, offline (actionlint
// checks the syntax; see .ci/run).

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var (
	repoRoot     = filepath.Join("..", "..")
	workflowsDir = filepath.Join(repoRoot, ".github", "workflows")
)

// The crmops action as the templates name it; users pin it (docs/github.md).
const actionPrefix = "crmops/crmops@"

// workflowFile is one parsed template.
type workflowFile struct {
	name string
	raw  []byte
	doc  map[string]any
}

func loadWorkflows(t *testing.T) map[string]workflowFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(workflowsDir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]workflowFile{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = workflowFile{name: filepath.Base(p), raw: raw, doc: doc}
	}
	for _, want := range []string{"detect.yml", "check.yml", "review.yml", "apply.yml"} {
		if _, ok := out[want]; !ok {
			t.Fatalf("%s is missing from %s", want, workflowsDir)
		}
	}
	return out
}

func loadAction(t *testing.T) ([]byte, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return raw, doc
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strings of a YAML value that is one string or a list of them.
func stringsOf(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, e := range listOf(v) {
		out = append(out, str(e))
	}
	return out
}

// triggers returns the workflow's "on" mapping.
func triggers(t *testing.T, w workflowFile) map[string]any {
	t.Helper()
	on, ok := w.doc["on"]
	if !ok {
		t.Fatalf("%s has no on:", w.name)
	}
	if m := mapOf(on); m != nil {
		return m
	}
	out := map[string]any{}
	for _, e := range stringsOf(on) {
		out[e] = nil
	}
	return out
}

func jobs(w workflowFile) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, j := range mapOf(w.doc["jobs"]) {
		out[name] = mapOf(j)
	}
	return out
}

func steps(job map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range listOf(job["steps"]) {
		out = append(out, mapOf(s))
	}
	return out
}

// crmopsCommands lists the commands a job's steps give the crmops action,
// in order.
func crmopsCommands(job map[string]any) []string {
	var out []string
	for _, s := range steps(job) {
		if strings.HasPrefix(str(s["uses"]), actionPrefix) {
			out = append(out, str(mapOf(s["with"])["command"]))
		}
	}
	return out
}

// walk calls fn for every key and value below v.
func walk(v any, fn func(key string, value any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			fn(k, e)
			walk(e, fn)
		}
	case []any:
		for _, e := range v {
			walk(e, fn)
		}
	}
}

func TestNoPullRequestTarget(t *testing.T) {
	// pull_request_target runs with a write token and secrets on pull
	// requests from anyone; nothing here needs it, and a template that used
	// it would invite running the pull request's code with them.
	// Comments may name it (to say why not); keys and values may not.
	files := loadWorkflows(t)
	raw, _ := loadAction(t)
	files["action.yml"] = workflowFile{name: "action.yml", raw: raw}
	for name, w := range files {
		var root yaml.Node
		if err := yaml.Unmarshal(w.raw, &root); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var visit func(n *yaml.Node)
		visit = func(n *yaml.Node) {
			if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "pull_request_target") {
				t.Errorf("%s:%d: %q", name, n.Line, n.Value)
			}
			for _, c := range n.Content {
				visit(c)
			}
		}
		visit(&root)
	}
}

func TestLeastPermissions(t *testing.T) {
	want := map[string]map[string]any{
		"detect.yml": {"contents": "write", "pull-requests": "write", "statuses": "write"},
		"review.yml": {"contents": "write", "pull-requests": "write", "statuses": "write"},
		"apply.yml":  {"contents": "write", "pull-requests": "read"},
		"check.yml":  {"contents": "read"},
	}
	for name, w := range loadWorkflows(t) {
		t.Run(name, func(t *testing.T) {
			perms, ok := w.doc["permissions"]
			if !ok {
				t.Fatal("no top-level permissions: (the token would get the repository's default, possibly write-all)")
			}
			if m := mapOf(perms); m == nil {
				t.Fatalf("permissions: %v, want a mapping of scopes", perms)
			}
			if exp, ok := want[name]; ok && !reflect.DeepEqual(mapOf(perms), exp) {
				t.Errorf("permissions: %v, want %v", perms, exp)
			}
			for jobName, job := range jobs(w) {
				if _, ok := job["permissions"]; ok {
					t.Errorf("job %s sets its own permissions; keep them at the top, where reviewers look", jobName)
				}
			}
		})
	}
}

func TestOneRunAtATimeOnMain(t *testing.T) {
	files := loadWorkflows(t)
	for _, name := range []string{"detect.yml", "review.yml", "apply.yml"} {
		t.Run(name, func(t *testing.T) {
			c := mapOf(files[name].doc["concurrency"])
			if c == nil {
				t.Fatal("no concurrency: mapping")
			}
			if str(c["group"]) != "crmops-main" {
				t.Errorf("concurrency group %q, want crmops-main (shared by detect, review and apply)", c["group"])
			}
			if cancel, ok := c["cancel-in-progress"].(bool); !ok || cancel {
				t.Errorf("cancel-in-progress: %v, want false: a run that merges or applies must never be cancelled half-way", c["cancel-in-progress"])
			}
		})
	}
}

var expression = regexp.MustCompile(`\$\{\{`)

func TestNoExpressionsInScripts(t *testing.T) {
	// ${{ }} in run: is substituted into the script before the shell reads
	// it: a value from an event (a branch name, a title) would be code.
	// Values reach scripts through env: instead.
	files := loadWorkflows(t)
	_, action := loadAction(t)
	files["action.yml"] = workflowFile{name: "action.yml", doc: action}
	for name, w := range files {
		runs := 0
		walk(w.doc, func(key string, value any) {
			if key != "run" {
				return
			}
			runs++
			if expression.MatchString(str(value)) {
				t.Errorf("%s: a run: script contains an expression:\n%s", name, value)
			}
		})
		if name == "action.yml" && runs == 0 {
			t.Errorf("%s: no run: steps found; did the test stop finding them?", name)
		}
	}
}

func TestTemplatesUseThePinnedAction(t *testing.T) {
	for name, w := range loadWorkflows(t) {
		walk(w.doc, func(key string, value any) {
			if key != "uses" {
				return
			}
			uses := str(value)
			if strings.HasPrefix(uses, "./") {
				t.Errorf("%s: uses %q; a template in a user's repository must name crmops as %s<tag or SHA>", name, uses, actionPrefix)
			}
			if _, ref, ok := strings.Cut(uses, "@"); !ok || ref == "" {
				t.Errorf("%s: uses %q without a version", name, uses)
			}
		})
	}
}

// checkout returns the job's actions/checkout step.
func checkout(t *testing.T, job map[string]any) map[string]any {
	t.Helper()
	for _, s := range steps(job) {
		if strings.HasPrefix(str(s["uses"]), "actions/checkout@") {
			return s
		}
	}
	t.Fatal("no actions/checkout step")
	return nil
}

func TestDetectCompletesTheAutoPathInOneJob(t *testing.T) {
	w := loadWorkflows(t)["detect.yml"]
	on := triggers(t, w)
	var crons []string
	for _, s := range listOf(on["schedule"]) {
		crons = append(crons, str(mapOf(s)["cron"]))
	}
	if len(crons) != 1 || strings.HasPrefix(crons[0], "0 ") {
		t.Errorf("schedule %v, want one cron off the top of the hour (runs at minute 0 are the likeliest to be dropped)", crons)
	}
	if _, ok := on["workflow_dispatch"]; !ok {
		t.Error("no workflow_dispatch: detect must be runnable by hand")
	}
	js := jobs(w)
	if len(js) != 1 {
		t.Fatalf("%d jobs, want one: merges made with GITHUB_TOKEN start no other workflow, so detect, merge and apply share a job", len(js))
	}
	for _, job := range js {
		if got := crmopsCommands(job); !reflect.DeepEqual(got, []string{"detect", "apply"}) {
			t.Errorf("crmops commands %q, want detect then apply", got)
		}
		if depth := mapOf(checkout(t, job)["with"])["fetch-depth"]; depth != 0 {
			t.Errorf("checkout fetch-depth %v, want 0: crmops reads the history", depth)
		}
	}
}

func TestReviewMergesApprovedProposalsAndApplies(t *testing.T) {
	w := loadWorkflows(t)["review.yml"]
	on := triggers(t, w)
	if len(on) != 1 || !reflect.DeepEqual(stringsOf(mapOf(on["pull_request_review"])["types"]), []string{"submitted"}) {
		t.Errorf("on: %v, want only pull_request_review of types [submitted]", on)
	}
	for _, job := range jobs(w) {
		cond := str(job["if"])
		for _, want := range []string{
			"github.event.review.state == 'approved'", // lower case in the webhook
			"startsWith(github.event.pull_request.head.ref, 'crmops/')",
		} {
			if !strings.Contains(cond, want) {
				t.Errorf("job if: %q lacks %q", cond, want)
			}
		}
		if got := crmopsCommands(job); !reflect.DeepEqual(got, []string{"merge --if-ready ${{ github.event.pull_request.number }}", "apply"}) {
			t.Errorf("crmops commands %q, want merge of the pull request, then apply", got)
		}
		with := mapOf(checkout(t, job)["with"])
		if with["fetch-depth"] != 0 || with["ref"] != "main" {
			t.Errorf("checkout with %v, want ref main and fetch-depth 0 (the event's own ref is the pull request's merge commit)", with)
		}
	}
}

func TestApplyRunsOnMergesToMain(t *testing.T) {
	w := loadWorkflows(t)["apply.yml"]
	on := triggers(t, w)
	push := mapOf(on["push"])
	if !reflect.DeepEqual(stringsOf(push["branches"]), []string{"main"}) || !reflect.DeepEqual(stringsOf(push["paths"]), []string{"proposals/**"}) {
		t.Errorf("on.push %v, want branches [main] and paths [proposals/**]", push)
	}
	if _, ok := on["workflow_dispatch"]; !ok {
		t.Error("no workflow_dispatch")
	}
	for _, job := range jobs(w) {
		if got := crmopsCommands(job); !reflect.DeepEqual(got, []string{"apply"}) {
			t.Errorf("crmops commands %q, want apply", got)
		}
	}
}

func TestCheckJudgesByTheBaseBranchPolicy(t *testing.T) {
	w := loadWorkflows(t)["check.yml"]
	on := triggers(t, w)
	keys := make([]string, 0, len(on))
	for k := range on {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"pull_request"}) {
		t.Errorf("on: %v, want only pull_request", keys)
	}
	paths := stringsOf(mapOf(on["pull_request"])["paths"])
	if !slices.Contains(paths, "proposals/**") || !slices.Contains(paths, "policies/**") {
		t.Errorf("on.pull_request.paths %v, want proposals/** and policies/**", paths)
	}
	if bytes.Contains(w.raw, []byte("secrets.")) {
		t.Error("check.yml uses a secret; it reads pull requests' files and needs none")
	}
	for _, job := range jobs(w) {
		fetched, checked := -1, -1
		for i, s := range steps(job) {
			script := str(s["run"])
			if strings.Contains(script, "git fetch") && strings.Contains(script, `refs/remotes/origin/$BASE_REF`) {
				if env := str(mapOf(s["env"])["BASE_REF"]); env != "${{ github.base_ref }}" {
					t.Errorf("the fetch step's BASE_REF is %q, want ${{ github.base_ref }}", env)
				}
				fetched = i
			}
			if strings.HasPrefix(str(s["uses"]), actionPrefix) {
				cmd := str(mapOf(s["with"])["command"])
				// policy test and simulate look at the proposed policy on
				// purpose, and only report; they must run only when the
				// policy changed. Everything else is check, by the base's
				// policy.
				if cmd == "policy test" || cmd == "policy simulate --policy policies/default.yaml" {
					if !strings.Contains(str(s["if"]), "steps.policy.outputs.changed == 'true'") {
						t.Errorf("crmops %q runs on every pull request; only on policy changes", cmd)
					}
					continue
				}
				if !strings.HasPrefix(cmd, "check") {
					t.Errorf("check.yml runs crmops %q; it may only check, or test and simulate a changed policy", cmd)
				}
				if strings.Contains(cmd, "--policy") {
					t.Errorf("crmops %q chooses its policy; it must judge by the base branch's", cmd)
				}
				checked = i
			}
		}
		if fetched < 0 {
			t.Error("no step fetches the base branch into refs/remotes/origin/$BASE_REF; crmops would judge by the pull request's own policy")
		}
		if checked < 0 || checked < fetched {
			t.Errorf("crmops check (step %d) must run after the base branch is fetched (step %d)", checked, fetched)
		}
	}
}

func TestAction(t *testing.T) {
	_, doc := loadAction(t)
	inputs := mapOf(doc["inputs"])
	if c := mapOf(inputs["command"]); c == nil || c["required"] != true {
		t.Errorf("input command: %v, want required", inputs["command"])
	}
	if d := mapOf(inputs["go-version"])["default"]; d != "1.26" {
		t.Errorf("go-version default %v, want \"1.26\" (a string: 1.26 unquoted is a float)", d)
	}
	if d := mapOf(inputs["token"])["default"]; d != "${{ github.token }}" {
		t.Errorf("token default %v, want ${{ github.token }}", d)
	}
	runs := mapOf(doc["runs"])
	if runs["using"] != "composite" {
		t.Fatalf("runs.using %v, want composite", runs["using"])
	}
	var setupGo, built, ran bool
	for _, s := range steps(runs) {
		uses, script := str(s["uses"]), str(s["run"])
		if script != "" && str(s["shell"]) == "" {
			t.Errorf("step %q has run: without shell: (required in composite actions)", s["name"])
		}
		if strings.HasPrefix(uses, "actions/setup-go@") {
			setupGo = true // pinned by commit: TestEveryActionIsPinnedByCommit
		}
		if strings.Contains(script, `cd "$GITHUB_ACTION_PATH"`) && regexp.MustCompile(`go build .*-o "\$RUNNER_TEMP/crmops" \./cmd/crmops`).MatchString(script) {
			built = true
		}
		if strings.Contains(script, `"$RUNNER_TEMP/crmops" "${args[@]}"`) {
			ran = true
			env := mapOf(s["env"])
			if env["GITHUB_TOKEN"] != "${{ inputs.token }}" || env["CRMOPS_COMMAND"] != "${{ inputs.command }}" {
				t.Errorf("the crmops step's env %v, want GITHUB_TOKEN and CRMOPS_COMMAND from the inputs", env)
			}
		}
	}
	if !setupGo || !built || !ran {
		t.Errorf("setup-go %v, build from the action's directory %v, run %v; want all three", setupGo, built, ran)
	}
}

func TestTokenChoice(t *testing.T) {
	// The workflows that write act as the crmops GitHub App when one is
	// configured, and with GITHUB_TOKEN otherwise; check needs neither.
	const token = "${{ steps.app.outputs.token || github.token }}"
	files := loadWorkflows(t)
	for _, name := range []string{"detect.yml", "review.yml", "apply.yml"} {
		for _, job := range jobs(files[name]) {
			app := -1
			for i, s := range steps(job) {
				if strings.HasPrefix(str(s["uses"]), "actions/create-github-app-token@") {
					if s["id"] != "app" || !strings.Contains(str(s["if"]), "vars.CRMOPS_APP_ID") {
						t.Errorf("%s: the App token step is %v, want id app, run only when vars.CRMOPS_APP_ID is set", name, s)
					}
					app = i
				}
				if strings.HasPrefix(str(s["uses"]), actionPrefix) {
					if got := mapOf(s["with"])["token"]; got != token {
						t.Errorf("%s: crmops %q gets token %v, want %s", name, mapOf(s["with"])["command"], got, token)
					}
					if app < 0 || app > i {
						t.Errorf("%s: crmops %q runs before the App token step", name, mapOf(s["with"])["command"])
					}
				}
			}
		}
	}
	for _, job := range jobs(files["check.yml"]) {
		for _, s := range steps(job) {
			if _, ok := mapOf(s["with"])["token"]; ok && strings.HasPrefix(str(s["uses"]), actionPrefix) {
				t.Error("check.yml passes crmops a token; it needs only the job's read token")
			}
		}
	}
}
