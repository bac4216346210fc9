package workflows_test

// What the templates and the action run is fixed by commit: a tag can be
// moved to other code after it was reviewed, a commit cannot. And the job's
// write token is not left in .git/config for every later step to read.

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var (
	fullSHA        = regexp.MustCompile(`^[0-9a-f]{40}$`)
	versionComment = regexp.MustCompile(`^#\s*(v[0-9]+(?:\.[0-9]+){0,2})\s*$`)
)

// usesRef is one uses: of a workflow template or of the action.
type usesRef struct {
	file, value, comment string
	line                 int
}

// yamlFiles are the templates and the action, parsed as nodes so that
// comments are kept.
func yamlFiles(t *testing.T) map[string]*yaml.Node {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(workflowsDir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, filepath.Join(repoRoot, "action.yml"))
	out := map[string]*yaml.Node{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(raw, &root); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name, _ := filepath.Rel(repoRoot, p)
		out[filepath.ToSlash(name)] = &root
	}
	return out
}

// pairs calls fn for every key and value of every mapping below n.
func pairs(n *yaml.Node, fn func(mapping, key, value *yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			fn(n, n.Content[i], n.Content[i+1])
		}
	}
	for _, c := range n.Content {
		pairs(c, fn)
	}
}

func allUses(t *testing.T) []usesRef {
	t.Helper()
	var out []usesRef
	for name, root := range yamlFiles(t) {
		pairs(root, func(_, k, v *yaml.Node) {
			if k.Value == "uses" && v.Kind == yaml.ScalarNode {
				out = append(out, usesRef{file: name, value: v.Value, comment: v.LineComment, line: v.Line})
			}
		})
	}
	if len(out) == 0 {
		t.Fatal("no uses: found; did the test stop finding them?")
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].file != out[j].file {
			return out[i].file < out[j].file
		}
		return out[i].line < out[j].line
	})
	return out
}

// pinDocs is what docs/github.md's "Pinned actions" section lists: the
// pinned commits (action@sha -> version, with a source) and the references
// left unpinned (-> why).
type pinDocs struct {
	pinned   map[string]string
	unpinned map[string]string
}

func loadPinDocs(t *testing.T) pinDocs {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "github.md"))
	if err != nil {
		t.Fatal(err)
	}
	d := pinDocs{pinned: map[string]string{}, unpinned: map[string]string{}}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(strings.TrimPrefix(line, "## ")) == "Pinned actions"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|") {
			cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
		}
		switch {
		case len(cells) == 4 && fullSHA.MatchString(cells[2]):
			// | Action | Version | Commit | Where the commit was seen |
			if cells[3] == "" {
				t.Errorf("docs/github.md: the pin of %s@%s names no source", cells[0], cells[2])
			}
			d.pinned[cells[0]+"@"+cells[2]] = cells[1]
		case len(cells) == 2 && strings.Contains(cells[0], "@"):
			// | Reference | Why it is not pinned |
			d.unpinned[cells[0]] = cells[1]
		}
	}
	if len(d.pinned)+len(d.unpinned) == 0 {
		t.Error(`docs/github.md has no "## Pinned actions" section listing the pins`)
	}
	return d
}

func TestEveryActionIsPinnedByCommit(t *testing.T) {
	docs := loadPinDocs(t)
	for _, u := range allUses(t) {
		if strings.HasPrefix(u.value, "./") {
			t.Errorf("%s:%d: uses %q; a local action runs whatever the checkout holds", u.file, u.line, u.value)
			continue
		}
		_, ref, _ := strings.Cut(u.value, "@")
		if fullSHA.MatchString(ref) {
			m := versionComment.FindStringSubmatch(u.comment)
			if m == nil {
				t.Errorf("%s:%d: %s is pinned without a version comment (want: uses: %s # v1.2.3), got %q", u.file, u.line, u.value, u.value, u.comment)
				continue
			}
			listed, ok := docs.pinned[u.value]
			switch {
			case !ok:
				t.Errorf("%s:%d: %s (%s) is not listed with its source under docs/github.md's Pinned actions", u.file, u.line, u.value, m[1])
			case listed != m[1]:
				t.Errorf("%s:%d: %s is commented %s, but docs/github.md lists it as %s", u.file, u.line, u.value, m[1], listed)
			}
			continue
		}
		if why := docs.unpinned[u.value]; why == "" {
			t.Errorf("%s:%d: uses %q, a tag or branch that can be moved; pin it to a full commit SHA with a version comment, or list it with the reason under docs/github.md's Pinned actions", u.file, u.line, u.value)
		}
	}
}

func TestPinDocsListOnlyWhatIsUsed(t *testing.T) {
	// A pin the files no longer use, left in the docs, would tell a
	// reviewer to trust a commit nothing runs.
	used := map[string]bool{}
	for _, u := range allUses(t) {
		used[u.value] = true
	}
	docs := loadPinDocs(t)
	for ref := range docs.pinned {
		if !used[ref] {
			t.Errorf("docs/github.md lists %s as pinned, but no workflow or the action uses it", ref)
		}
	}
	for ref := range docs.unpinned {
		if !used[ref] {
			t.Errorf("docs/github.md lists %s as unpinned, but no workflow or the action uses it", ref)
		}
	}
}

// comments is every comment on a node, its key, and what is below it.
func comments(nodes ...*yaml.Node) string {
	var b strings.Builder
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		b.WriteString(n.HeadComment + n.LineComment + n.FootComment)
		for _, c := range n.Content {
			visit(c)
		}
	}
	for _, n := range nodes {
		visit(n)
	}
	return b.String()
}

func TestCheckoutDoesNotPersistCredentials(t *testing.T) {
	// actions/checkout leaves the job's token in the git configuration for
	// every later step unless persist-credentials is false. crmops pushes
	// with go-git and its own token (GITHUB_TOKEN from the action's token
	// input), so no step needs it. A step that does must say why.
	found := 0
	for name, root := range yamlFiles(t) {
		pairs(root, func(step, k, v *yaml.Node) {
			if k.Value != "uses" || !strings.HasPrefix(v.Value, "actions/checkout@") {
				return
			}
			found++
			var persist, persistKey *yaml.Node
			pairs(step, func(_, k, v *yaml.Node) {
				if k.Value == "persist-credentials" {
					persistKey, persist = k, v
				}
			})
			switch {
			case persist == nil:
				t.Errorf("%s:%d: actions/checkout without persist-credentials: false leaves the job's token in .git/config", name, v.Line)
			case persist.Value == "false":
			case len(strings.TrimSpace(strings.TrimLeft(comments(persistKey, persist), "# "))) < 10:
				t.Errorf("%s:%d: persist-credentials: %s without a comment saying which step needs the token in .git/config", name, persist.Line, persist.Value)
			}
		})
	}
	if found == 0 {
		t.Fatal("no actions/checkout step found; did the test stop finding them?")
	}
}
