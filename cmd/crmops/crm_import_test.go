package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importHarness is a fresh repository on the embedded CRM.
func importHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.initRepo()
	return h
}

// csvFile writes content to a file outside the repository and returns its path.
func csvFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// importFails runs crm import, which must exit 1 with a one-line error
// saying exactly want.
func (h *harness) importFails(want string, argv ...string) {
	h.t.Helper()
	r := h.run("", append([]string{"crm", "import"}, argv...)...)
	if r.code != exitError {
		h.t.Fatalf("crm import %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, exitError, r.out, r.err)
	}
	if got := strings.TrimSuffix(r.err, "\n"); got != "crmops: "+want {
		h.t.Errorf("crm import %s: stderr\n%s\nwant the one line\ncrmops: %s", strings.Join(argv, " "), r.err, want)
	}
	if r.out != "" {
		h.t.Errorf("crm import %s printed %q on a failure", strings.Join(argv, " "), r.out)
	}
}

func TestImportRepeatedIDIsAnErrorAndImportsNothing(t *testing.T) {
	h := importHarness(t)
	h.ok("", "crm", "import", "contacts", csvFile(t, "before.csv", "id,email\n1001,old@x.com\n"))
	before := h.ok("", "crm", "export", "contacts")

	file := csvFile(t, "dup.csv", "id,email,phone\n1001,new@x.com,555\n1002,b@x.com,\n1001,newer@x.com,\n")
	h.importFails(file+`:4: id: "1001" repeats line 2`, "contacts", file)
	if after := h.ok("", "crm", "export", "contacts"); after != before {
		t.Errorf("a refused import changed the CRM:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The same holds for a HubSpot export, whose id column is Record ID.
	hs := csvFile(t, "export.csv", "Record ID,Email\n1003,c@x.com\n1003,d@x.com\n")
	h.importFails(hs+`:3: Record ID: "1003" repeats line 2`, "contacts", hs)
	if after := h.ok("", "crm", "export", "contacts"); after != before {
		t.Errorf("a refused HubSpot import changed the CRM:\n%s", after)
	}
}

func TestImportBadRowLateInFileImportsNothing(t *testing.T) {
	h := importHarness(t)
	file := csvFile(t, "bad.csv", "id,email\n1001,a@x.com\n1002,b@x.com\n1003,c@x.com,extra\n")
	h.importFails(file+":4: row has 3 columns, header has 2", "contacts", file)
	if got := h.ok("", "crm", "export", "contacts"); got != "id\n" {
		t.Errorf("rows before the bad one were imported:\n%s", got)
	}
}

func TestImportLastWins(t *testing.T) {
	h := importHarness(t)
	file := csvFile(t, "dup.csv", "id,email,phone\n1001,a@x.com,555\n1002,b@x.com,\n1001,newer@x.com,\n")
	out := h.ok("", "crm", "import", "--last-wins", "contacts", file)
	if want := "contacts: 2 records read, 2 inserted, 0 updated (1 row repeated an earlier id; the later values won)\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	// The later row's value wins; its empty cell leaves the earlier value.
	want := "id,email,phone\n1001,newer@x.com,555\n1002,b@x.com,\n"
	if got := h.ok("", "crm", "export", "contacts"); got != want {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
	help := h.ok("", "crm", "import", "--help")
	for _, w := range []string{"--last-wins", "later non-empty cells overwriting earlier ones", "--new-object"} {
		if !strings.Contains(help, w) {
			t.Errorf("help lacks %q:\n%s", w, help)
		}
	}
}

func TestImportStandardObjectsIntoAnEmptyCRM(t *testing.T) {
	h := importHarness(t)
	for _, object := range []string{"contacts", "companies", "deals"} {
		out := h.ok("", "crm", "import", object, csvFile(t, object+".csv", "id,name\n1,x\n"))
		if want := object + ": 1 records read, 1 inserted, 0 updated\n"; out != want {
			t.Errorf("import %s: %q, want %q", object, out, want)
		}
	}
}

func TestImportUnknownObjectNeedsNewObject(t *testing.T) {
	h := importHarness(t)
	file := csvFile(t, "w.csv", "id,name\n1,sprocket\n")

	h.importFails(`import: object "Contacts" is not a valid object name (lower case letters, digits, _); did you mean "contacts"?`, "Contacts", file)
	// No flag makes an invalid name valid: no batch could ever change it.
	h.importFails(`import: object "Widgets" is not a valid object name (lower case letters, digits, _)`, "--new-object", "Widgets", file)
	h.importFails(`import: the CRM has no object "contact" (it has companies, contacts, deals); did you mean "contacts"? To create "contact", run again with --new-object`, "contact", file)
	h.importFails(`import: the CRM has no object "compnies" (it has companies, contacts, deals); did you mean "companies"? To create "compnies", run again with --new-object`, "compnies", file)
	h.importFails(`import: the CRM has no object "widgets" (it has companies, contacts, deals); to create it, run again with --new-object`, "widgets", file)
	if got := h.ok("", "crm", "export", "widgets"); got != "id\n" {
		t.Errorf("a refused import created widgets:\n%s", got)
	}

	h.ok("", "crm", "import", "--new-object", "widgets", file)
	// Once it has records, the object is known like any other.
	h.ok("", "crm", "import", "widgets", csvFile(t, "w2.csv", "id,name\n2,cog\n"))
	if want, got := "id,name\n1,sprocket\n2,cog\n", h.ok("", "crm", "export", "widgets"); got != want {
		t.Errorf("export widgets:\n%s\nwant:\n%s", got, want)
	}
	h.importFails(`import: the CRM has no object "widget" (it has companies, contacts, deals, widgets); did you mean "widgets"? To create "widget", run again with --new-object`, "widget", file)
}
