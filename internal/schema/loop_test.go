package schema_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/schema"
)

// TestEveryFileCrmopsWritesValidatesAgainstTheSchemaItNames runs the whole
// loop with the crmops binary in new repositories (quickstart: init,
// detect, auto merges and apply; then approve, merge and apply of the
// dedupe batch; revert of its merges, approved, merged and applied, and
// of an applied batch; a reject, a drop; init --crm salesforce and init
// --forge github), and checks every
// YAML file on every branch: its first line names a schema by a path
// relative to the file, that path leads to the repository's schemas/ (the
// copy init made), and the schema, loaded from there with a loader that
// reads files only, accepts the file. So the references work offline, in
// any checkout, with the validator editors' schemas are written for.
//
// CRMOPS_TEST_BIN runs a crmops binary already built (a release) instead of
// building ./cmd/crmops.
func TestEveryFileCrmopsWritesValidatesAgainstTheSchemaItNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds crmops and runs the loop")
	}
	bin := crmopsBinary(t)
	tmp := t.TempDir()
	run := func(dir string, ok []int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CRMOPS_LOGIN=ops", "NO_COLOR=1", "PAGER=cat")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, isExit := err.(*exec.ExitError); isExit {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("crmops %s: %v", strings.Join(args, " "), err)
		}
		if code != 0 && !containsInt(ok, code) {
			t.Fatalf("crmops %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	qs := filepath.Join(tmp, "quickstart")
	run(tmp, nil, "quickstart", qs)
	open := map[string]string{} // detector: its open review batch
	var listed []struct{ Batch, State string }
	if err := json.Unmarshal([]byte(run(qs, nil, "review", "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	for _, b := range listed {
		for _, det := range []string{"dedupe", "owner", "lifecycle"} {
			if strings.Contains(b.Batch, "-"+det+"-") && b.State == "open" {
				open[det] = b.Batch
			}
		}
	}
	for _, det := range []string{"dedupe", "owner", "lifecycle"} {
		if open[det] == "" {
			t.Fatalf("the quickstart left no open %s batch: %+v", det, listed)
		}
	}
	run(qs, nil, "review", "approve", open["dedupe"], "--as", "alice")
	run(qs, nil, "merge", open["dedupe"], "--as", "bob")
	run(qs, []int{4}, "apply")
	run(qs, nil, "revert", open["dedupe"], "--no-merge") // unmerges, left open
	var applied string
	if err := json.Unmarshal([]byte(run(qs, nil, "review", "list", "--all", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	for _, b := range listed {
		if strings.Contains(b.Batch, "-enrichment-") && b.State == "applied" {
			applied = b.Batch
		}
	}
	if applied == "" {
		t.Fatalf("no applied enrichment batch: %+v", listed)
	}
	run(qs, nil, "revert", applied) // sets back, merged if auto
	if err := json.Unmarshal([]byte(run(qs, nil, "review", "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	var unmerge string
	for _, b := range listed {
		if strings.Contains(b.Batch, "-revert-") && strings.Contains(b.Batch, "-dedupe-") {
			unmerge = b.Batch
		}
	}
	if unmerge == "" {
		t.Fatalf("revert proposed no batch undoing %s: %+v", open["dedupe"], listed)
	}
	run(qs, nil, "review", "approve", unmerge, "--as", "alice")
	run(qs, nil, "merge", unmerge, "--as", "bob")
	run(qs, []int{4}, "apply") // the unmerges' receipt
	run(qs, nil, "review", "reject", open["owner"], "--as", "alice", "--reason", "not now")
	run(qs, nil, "review", "drop", open["lifecycle"], "c1", "--as", "alice", "--reason", "wrong stage")

	sf := filepath.Join(tmp, "salesforce")
	run(tmp, nil, "init", sf, "--crm", "salesforce")
	gh := filepath.Join(tmp, "github")
	run(tmp, nil, "init", gh, "--forge", "github", "--login", "ops-bot[bot]")

	seen := map[string]int{} // schema: files
	var unmerges, salesforce, github int
	for _, dir := range []string{qs, sf, gh} {
		for _, f := range writtenFiles(t, dir) {
			name := checkWrittenFile(t, dir, f)
			seen[name]++
			switch {
			case name == schema.Batch && bytes.Contains(f.data, []byte("op: unmerge")):
				unmerges++
			case name == schema.Config && bytes.Contains(f.data, []byte("kind: salesforce")):
				salesforce++
			case name == schema.Config && bytes.Contains(f.data, []byte("kind: github")):
				github++
			}
		}
		for _, name := range schema.Names {
			got, err := os.ReadFile(filepath.Join(dir, schema.Dir, name))
			if err != nil {
				t.Errorf("%s: init did not write %s/%s: %v", dir, schema.Dir, name, err)
				continue
			}
			if want, _ := os.ReadFile(filepath.Join(root, schema.Dir, name)); !bytes.Equal(got, want) {
				t.Errorf("%s: %s/%s differs from crmops's", dir, schema.Dir, name)
			}
		}
	}
	for _, name := range schema.Names {
		if seen[name] == 0 {
			t.Errorf("the loop wrote no file of %s", name)
		}
	}
	if unmerges == 0 || salesforce == 0 || github == 0 {
		t.Errorf("the loop wrote %d unmerge batches, %d Salesforce and %d GitHub configurations; want each", unmerges, salesforce, github)
	}
	t.Logf("checked files by schema: %v", seen)
}

// TestTheRepositorysPoliciesNameTheirSchemasRelatively: policies/ of
// crmops's own repository is what init writes, and resolves here too.
func TestTheRepositorysPoliciesNameTheirSchemasRelatively(t *testing.T) {
	for _, p := range []string{"policies/default.yaml", "policies/tests/default.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		checkWrittenFile(t, root, file{path: p, ref: "the work tree", data: data})
	}
}

func crmopsBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CRMOPS_TEST_BIN"); bin != "" {
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build crmops with")
	}
	bin := filepath.Join(t.TempDir(), "crmops")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/crmops")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/crmops: %v\n%s", err, out)
	}
	return bin
}

// file is a YAML file crmops wrote: its repository-relative path, where it
// was found (the work tree or a branch of the remote) and its content.
type file struct {
	path, ref string
	data      []byte
}

// writtenFiles returns every YAML file of the repository in dir: in its
// work tree and on every branch of its remote (the open proposals), each
// distinct content once.
func writtenFiles(t *testing.T, dir string) []file {
	t.Helper()
	var out []file
	have := map[string]bool{}
	add := func(f file) {
		if key := f.path + "\x00" + string(f.data); !have[key] {
			have[key] = true
			out = append(out, f)
		}
	}
	isYAML := func(p string) bool { return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") }
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".crmops") {
			return filepath.SkipDir
		}
		if !d.IsDir() && isYAML(p) {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			add(file{filepath.ToSlash(rel), "the work tree", data})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	remote, err := gitrepo.Open(filepath.Join(dir, ".crmops", "remote.git"))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := remote.Refs("refs/heads/")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(refs))
	for name := range refs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		paths, err := remote.ListFiles(refs[name], "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if !isYAML(p) {
				continue
			}
			data, err := remote.ReadFile(refs[name], p)
			if err != nil {
				t.Fatal(err)
			}
			add(file{p, name, data})
		}
	}
	return out
}

// expected is the schema a file at repository-relative path p must name.
func expected(p string) string {
	switch {
	case p == "crmops.yaml":
		return schema.Config
	case strings.HasPrefix(p, "policies/tests/"):
		return schema.PolicyTest
	case strings.HasPrefix(p, "policies/"):
		return schema.Policy
	case strings.HasSuffix(p, batch.ReceiptSuffix):
		return schema.Receipt
	case strings.HasSuffix(p, batch.RejectionSuffix):
		return schema.Rejection
	case strings.HasPrefix(p, batch.Dir+"/"):
		return schema.Batch
	}
	return ""
}

// compiled caches the schemas by file, for checkWrittenFile.
var compiled = map[string]*jsonschema.Schema{}

// checkWrittenFile checks f of the repository in dir against the schema
// its first line names, and returns the schema's name.
func checkWrittenFile(t *testing.T, dir string, f file) string {
	t.Helper()
	where := f.path + " (" + f.ref + ")"
	want := expected(f.path)
	if want == "" {
		t.Errorf("%s: crmops wrote a YAML file it has no schema for", where)
		return ""
	}
	line, _, _ := bytes.Cut(f.data, []byte("\n"))
	ref, ok := strings.CutPrefix(string(line), "# yaml-language-server: $schema=")
	if !ok {
		t.Errorf("%s: the first line names no schema: %q", where, line)
		return want
	}
	if strings.Contains(ref, ":") || path.IsAbs(ref) {
		t.Errorf("%s: $schema=%s is not a path relative to the file", where, ref)
		return want
	}
	if ref != schema.Ref(f.path, want) {
		t.Errorf("%s: $schema=%s, want %s", where, ref, schema.Ref(f.path, want))
	}
	// Resolved as an editor does: from the file's directory.
	abs := filepath.Join(dir, filepath.FromSlash(path.Dir(f.path)), filepath.FromSlash(ref))
	if filepath.Dir(abs) != filepath.Join(dir, schema.Dir) || filepath.Base(abs) != want {
		t.Errorf("%s: $schema=%s resolves to %s, not the repository's %s/%s", where, ref, abs, schema.Dir, want)
		return want
	}
	s := compiled[abs]
	if s == nil {
		var err error
		if s, err = offlineCompiler().Compile(abs); err != nil {
			t.Errorf("%s: $schema=%s does not load offline: %v", where, ref, err)
			return want
		}
		compiled[abs] = s
	}
	if err := s.Validate(instance(t, f.data)); err != nil {
		t.Errorf("%s: %s refuses it:\n%v\n%s", where, want, err, f.data)
	}
	if err := formatOf(t, want).decode(f.path, f.data); err != nil {
		t.Errorf("%s: crmops does not read back what it wrote: %v", where, err)
	}
	return want
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
