package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// A mistyped subcommand exits 2 with cobra's suggestion, at every level,
// as at the top level; a group alone prints its help.
func TestTypoSubcommandsExitUsageWithSuggestions(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		unknown string // the command the error names
		suggest string
	}{
		{[]string{"reviw"}, `unknown command "reviw" for "crmops"`, "review"},
		{[]string{"review", "aprove", "20261124T060000Z-dedupe-8b41d7"}, `unknown command "aprove" for "crmops review"`, "approve"},
		{[]string{"policy", "simualte"}, `unknown command "simualte" for "crmops policy"`, "simulate"},
		{[]string{"crm", "gte", "contacts/1001"}, `unknown command "gte" for "crmops crm"`, "get"},
		{[]string{"completion", "bsh"}, `unknown command "bsh" for "crmops completion"`, "bash"},
		{[]string{"--repo", "/nonexistent", "review", "lits", "--json"}, `unknown command "lits" for "crmops review"`, "list"},
	} {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			f, out, errOut := testFactory("")
			code := run(context.Background(), f, tc.argv)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			for _, want := range []string{tc.unknown, "Did you mean this?\n\t" + tc.suggest + "\n"} {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout is not empty (help printed?):\n%s", out)
			}
		})
	}
	t.Run("no suggestion for what resembles nothing", func(t *testing.T) {
		f, _, errOut := testFactory("")
		if code := run(context.Background(), f, []string{"policy", "xyzzy"}); code != exitUsage {
			t.Fatalf("exit %d, want %d", code, exitUsage)
		}
		if !strings.Contains(errOut.String(), `unknown command "xyzzy" for "crmops policy"`) || strings.Contains(errOut.String(), "Did you mean") {
			t.Errorf("stderr: %s", errOut)
		}
	})
	t.Run("a subcommand's unknown flag is a flag error", func(t *testing.T) {
		f, _, errOut := testFactory("")
		code := run(context.Background(), f, []string{"review", "approve", "20261124T060000Z-dedupe-8b41d7", "--bogus"})
		if code != exitUsage || !strings.Contains(errOut.String(), "unknown flag: --bogus") || strings.Contains(errOut.String(), "unknown command") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	for _, group := range []string{"review", "policy", "crm", "completion"} {
		t.Run(group+" alone prints its help", func(t *testing.T) {
			f, out, errOut := testFactory("")
			if code := run(context.Background(), f, []string{group}); code != exitOK {
				t.Fatalf("exit %d\nstderr: %s", code, errOut)
			}
			for _, want := range []string{"Available Commands:", "Examples:", "crmops " + group + " [command]"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("crmops %s: stdout lacks %q:\n%s", group, want, out)
				}
			}
		})
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "2e1d920c1a2b3c4d5e6f708192a3b4c5d6e7f809"},
		{Key: "vcs.time", Value: "2026-12-02T13:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		version string
		bi      *debug.BuildInfo
		want    string
	}{
		{"dev", &debug.BuildInfo{GoVersion: "go1.26.0", Settings: vcs}, "dev (commit 2e1d920c1a2b, 2026-12-02T13:00:00Z, modified)"},
		{"v1.2.0", &debug.BuildInfo{Settings: vcs[:3]}, "v1.2.0 (commit 2e1d920c1a2b, 2026-12-02T13:00:00Z)"},
		{"dev", &debug.BuildInfo{}, "dev (no commit recorded)"},
		{"v1.2.0", nil, "v1.2.0"},
	} {
		if got := buildInfoOf(tc.version, tc.bi).String(); got != tc.want {
			t.Errorf("buildInfoOf(%q, %+v) = %q, want %q", tc.version, tc.bi, got, tc.want)
		}
	}
	b := buildInfoOf("dev", &debug.BuildInfo{GoVersion: "go1.26.0", Settings: vcs})
	if b.Commit != vcs[1].Value || b.Time != vcs[2].Value || !b.Modified || b.Go != "go1.26.0" {
		t.Errorf("buildInfoOf: %+v", b)
	}
}

// crmops version, --version and version --json agree with each other and
// with the version receipts record.
func TestVersionCommand(t *testing.T) {
	want := "crmops " + currentBuild().String() + "\n"
	for _, argv := range [][]string{{"version"}, {"--version"}} {
		f, out, errOut := testFactory("")
		if code := run(context.Background(), f, argv); code != exitOK {
			t.Fatalf("crmops %s: exit %d: %s", argv[0], code, errOut)
		}
		if out.String() != want {
			t.Errorf("crmops %s = %q, want %q", argv[0], out, want)
		}
	}

	f, out, _ := testFactory("")
	if code := run(context.Background(), f, []string{"version", "--json"}); code != exitOK {
		t.Fatalf("crmops version --json: exit %d", code)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "commit,go,modified,time,version" {
		t.Errorf("version --json keys = %v", keys)
	}
	if got["version"] != version() || !strings.HasPrefix(got["go"].(string), "go") {
		t.Errorf("version --json = %v, want version %q", got, version())
	}
	if _, ok := got["modified"].(bool); !ok {
		t.Errorf("modified is not a boolean: %v", got["modified"])
	}
	// Receipts say executed_by crmops/<version>: one word.
	if v := version(); v == "" || strings.ContainsAny(v, " ()") {
		t.Errorf("version() = %q: receipts' executed_by would not be crmops/<version>", v)
	}

	t.Run("the link-time version wins", func(t *testing.T) {
		saved := buildVersion
		buildVersion = "v1.2.0"
		defer func() { buildVersion = saved }()
		f, out, _ := testFactory("")
		run(context.Background(), f, []string{"--version"})
		if version() != "v1.2.0" || !strings.HasPrefix(out.String(), "crmops v1.2.0") {
			t.Errorf("version() = %q, --version = %q", version(), out)
		}
	})
}

// completions runs cobra's hidden __complete command in the harness's
// repository and returns the candidates (without descriptions) and the
// directive.
func (h *harness) completions(argv ...string) ([]string, string) {
	h.t.Helper()
	r := h.run("", append([]string{"__complete"}, argv...)...)
	if r.code != exitOK {
		h.t.Fatalf("crmops __complete %s: exit %d\n%s", strings.Join(argv, " "), r.code, r.err)
	}
	return parseCompletions(h.t, r.out)
}

func parseCompletions(t testing.TB, out string) ([]string, string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("no directive line in %q", out)
	}
	var got []string
	for _, l := range lines[:len(lines)-1] {
		got = append(got, strings.SplitN(l, "\t", 2)[0])
	}
	sort.Strings(got)
	return got, last
}

func sortedIDs(ps []proposed) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.Batch)
	}
	sort.Strings(ids)
	return ids
}

func TestCompletionOfBatchesObjectsAndDetectors(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	ps := h.propose(firstChanges)
	auto, open := sortedIDs(byDecision(ps, "auto")), sortedIDs(byDecision(ps, "review"))
	if len(auto) != 2 || len(open) != 3 {
		t.Fatalf("proposed %+v", ps)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(auto), open...)))
	const noFiles = ":4" // ShellCompDirectiveNoFileComp

	check := func(name string, want []string, argv ...string) {
		t.Helper()
		got, directive := h.completions(argv...)
		if !slices.Equal(got, want) || directive != noFiles {
			t.Errorf("%s: crmops __complete %s = %v %s, want %v %s", name, strings.Join(argv, " "), got, directive, want, noFiles)
		}
	}
	check("open proposals to approve", open, "review", "approve", "")
	check("open proposals to merge", open, "merge", "")
	check("open proposals to drop from", open, "review", "drop", "")
	check("nothing after the batch of approve", nil, "review", "approve", open[0], "")
	check("every batch to show", all, "review", "show", "")
	check("merged batches to apply", auto, "apply", "--batch", "")
	check("nothing applied to revert yet", nil, "revert", "")
	check("by prefix", open[:1], "review", "show", open[0][:len(open[0])-3])

	h.ok("", "apply")
	check("applied batches to revert", auto, "revert", "")
	check("none left to apply", nil, "apply", "--batch", "")
	check("changes of the batch to revert", []string{"c1", "c2"}, "revert", auto[0], "--change", "")

	h.runAs("alice", "", "review", "reject", open[0], "--reason", "no")
	check("a rejected proposal is not open", open[1:], "review", "approve", "")

	explain, directive := h.completions("policy", "explain", "")
	if want := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == open[0] }); !slices.Equal(explain, want) || directive != ":0" {
		t.Errorf("policy explain: %v %s, want %v and file names (:0)", explain, directive, want)
	}

	t.Run("--repo names the repository, given after __complete too", func(t *testing.T) {
		f, out, errOut := testFactory("")
		if code := run(context.Background(), f, []string{"__complete", "--repo", h.dir, "review", "approve", ""}); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got, _ := parseCompletions(t, out.String()); !slices.Equal(got, open[1:]) {
			t.Errorf("got %v, want %v", got, open[1:])
		}
		f, out, _ = testFactory("")
		run(context.Background(), f, []string{"__complete", "--repo", t.TempDir(), "review", "approve", ""})
		if got, directive := parseCompletions(t, out.String()); len(got) != 0 || directive != noFiles {
			t.Errorf("in an empty directory: %v %s", got, directive)
		}
	})

	t.Run("without --repo, the repository the working directory is in", func(t *testing.T) {
		t.Chdir(filepath.Join(h.dir, batch.Dir))
		f, out, _ := testFactory("")
		run(context.Background(), f, []string{"__complete", "review", "approve", ""})
		if got, _ := parseCompletions(t, out.String()); !slices.Equal(got, open[1:]) {
			t.Errorf("got %v, want %v", got, open[1:])
		}
	})

	// Objects and detectors (h fails the whole test).
	{
		got, directive := h.completions("crm", "get", "")
		if want := []string{"companies/", "contacts/", "deals/"}; !slices.Equal(got, want) || directive != ":6" {
			t.Errorf("crm get: %v %s, want %v :6 (no space, no files)", got, directive, want)
		}
		// With no detectors configured: every detector crmops knows.
		check("detectors", []string{"dedupe", "email_verification", "enrichment", "lifecycle", "owner"}, "detect", "--detector", "")

		cfg := readFile(t, h.dir+"/crmops.yaml")
		cfg = strings.Replace(cfg, "detectors: {}\n", "detectors:\n"+
			"  enrichment: {object: leads, input: data/clay.csv, match_on: email, source: clay}\n"+
			"  dedupe:\n    objects: [contacts, Accounts]\n    Accounts: {as: companies, standard: {name: Name}}\n", 1)
		if !strings.Contains(cfg, "leads") {
			t.Fatalf("crmops.yaml has no empty detectors: to replace:\n%s", cfg)
		}
		h.pushToMain("configure detectors\n", map[string]string{"crmops.yaml": cfg})
		h.ok("", "review", "list") // brings the checkout up to date
		check("configured detectors", []string{"dedupe", "enrichment"}, "detect", "--detector", "")
		check("objects to import into", []string{"Accounts", "companies", "contacts", "deals", "leads"}, "crm", "import", "")
		if got, directive := h.completions("crm", "import", "contacts", ""); !slices.Equal(got, []string{"csv"}) || directive != ":8" {
			t.Errorf("crm import's file: %v %s, want csv files (:8)", got, directive)
		}
		check("agents", []string{defaultAgent}, "mcp", "--agent", "")
		check("no arguments", nil, "apply", "")
	}
}

// crmops completion writes each shell's script to the command's stdout.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_crmops", "zsh": "#compdef crmops", "fish": "complete -c crmops", "powershell": "Register-ArgumentCompleter",
	} {
		f, out, errOut := testFactory("")
		if code := run(context.Background(), f, []string{"completion", shell}); code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", shell, code, errOut)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("completion %s: output lacks %q", shell, want)
		}
	}
}
