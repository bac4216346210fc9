package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

// contactFields are the Contact fields the double's org has: those the
// Salesforce detectors read, and a verification result field teams add.
var contactFields = []string{"Email", "FirstName", "LastName", "Title", "Phone", "MobilePhone", "MailingStreet", "MailingCity",
	"MailingState", "MailingPostalCode", "MailingCountry", "Birthdate", "OwnerId", "Email_Status__c", "CreatedDate", "LastModifiedDate"}

// salesforceRepo is a repository made by crmops init --crm salesforce,
// whose CRM is an in-process double of a Salesforce org.
func salesforceRepo(t *testing.T) (*harness, *sftest.Server) {
	t.Helper()
	h := newHarness(t)
	h.env["CRMOPS_LOGIN"] = ""
	sf := sftest.New(sftest.Options{Token: "sf-secret-token"})
	t.Cleanup(sf.Close)
	sf.DefineObject("Contact", "", contactFields...)
	sf.DefineObject("Lead", "", "Email", "FirstName", "LastName", "Company", "Phone", "MobilePhone", "Street", "City", "State",
		"PostalCode", "Country", "Status", "Title", "OwnerId", "CreatedDate", "LastModifiedDate")
	sf.DefineObject("Account", "", "Name", "Website", "Phone", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
		"BillingCountry", "Industry", "OwnerId", "CreatedDate", "LastModifiedDate")
	h.ok("", "init", "--crm", "salesforce", h.dir)
	h.env["SALESFORCE_INSTANCE_URL"] = sf.URL
	h.env["SALESFORCE_TOKEN"] = "sf-secret-token"
	// The double is not on Salesforce's domains: allowed as a workflow would.
	h.env["CRMOPS_ALLOW_CRM_BASE_URL"] = sf.URL
	return h, sf
}

func sfField(sf *sftest.Server, object, id, field string) string {
	fields, _, _, _ := sf.Get(object, id)
	if v, ok := fields[field].(string); ok {
		return v
	}
	return ""
}

func TestTheWholeLoopOnSalesforce(t *testing.T) {
	h, sf := salesforceRepo(t)
	ann := sf.Seed("Contact", map[string]any{"Email": "ann@acme.com", "FirstName": "Ann", "LastName": "Lee", "Title": nil})
	bob := sf.Seed("Contact", map[string]any{"Email": "bob@acme.com", "FirstName": "Bob", "LastName": "Ray", "Title": "CTO"})
	cy := sf.Seed("Contact", map[string]any{"Email": "cy@acme.com", "FirstName": "Cy", "LastName": "Tan", "Phone": nil})
	keep := sf.Seed("Contact", map[string]any{"Email": "dee@acme.com", "FirstName": "Dee", "LastName": "Orr", "Title": "CFO"})
	dup := sf.Seed("Contact", map[string]any{"Email": "DEE@acme.com", "FirstName": "Dee", "LastName": "Orr", "Phone": "+1 555 0100"})

	set := func(kind, id, field, before, after string, confidence float64) string {
		return fmt.Sprintf(`{"kind":%q,"object":"Contact","record":%q,"op":"set","field":%q,"before":%q,"after":%q,"source":"clay","confidence":%v,"trigger":"import","reason":"e2e"}`+"\n",
			kind, id, field, before, after, confidence)
	}
	changes := set("enrichment", ann, "Title", "", "VP Sales", 0.97) +
		set("enrichment", cy, "Phone", "", "+1 555 0199", 0.97) +
		set("enrichment", bob, "Title", "CTO", "Chief Technology Officer", 0.99) +
		fmt.Sprintf(`{"kind":"dedupe","object":"Contact","record":%q,"op":"merge","merge_from":%q,"source":"dedupe","confidence":0.98,"trigger":"rule","reason":"same email ignoring case","snapshot":{"Email":"DEE@acme.com","Phone":"+1 555 0100"}}`+"\n", keep, dup) +
		set("owner", bob, "OwnerId", "", "005000000000001AAA", 1)
	first := h.propose(changes)
	fills := findBatch(t, h, first, "auto", 2)
	overwrite := findBatch(t, h, first, "review", 1, "enrichment")
	merge := findBatch(t, h, first, "review", 1, "dedupe")
	owner := findBatch(t, h, first, "review", 1, "owner")
	if sfField(sf, "Contact", ann, "Title") != "" {
		t.Fatal("the CRM changed before apply")
	}

	t.Run("apply writes with compare-and-swap: a value changed in Salesforce meanwhile is stale", func(t *testing.T) {
		sf.Seed("Contact", map[string]any{"Id": cy, "Phone": "+1 555 0123"}) // someone edits Cy in Salesforce
		h.expect(exitProblem, "", []string{"apply"}, "stale")
		if got := sfField(sf, "Contact", ann, "Title"); got != "VP Sales" {
			t.Errorf("Ann's Title = %q, want VP Sales", got)
		}
		if got := sfField(sf, "Contact", cy, "Phone"); got != "+1 555 0123" {
			t.Errorf("the stale change overwrote Cy's Phone: %q", got)
		}
		rc := h.receipt(fills.Batch)
		statuses := map[string]string{}
		for _, c := range rc.Changes {
			statuses[c.Status] = c.ObservedBefore
		}
		if _, ok := statuses[batch.StatusApplied]; !ok || statuses[batch.StatusStale] != "+1 555 0123" {
			t.Errorf("receipt: %+v, want one applied and one stale observing +1 555 0123", rc.Changes)
		}
		h.expect(0, "", []string{"apply"}, "Nothing to apply")
	})

	t.Run("an approved batch is applied and its receipt names the approver", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "approve", overwrite.Batch})
		h.expectAs("bob", 0, []string{"merge", overwrite.Batch}, "approved")
		h.ok("", "apply")
		if got := sfField(sf, "Contact", bob, "Title"); got != "Chief Technology Officer" {
			t.Errorf("Bob's Title = %q", got)
		}
		if rc := h.receipt(overwrite.Batch); rc.Approval.Mode != batch.ModeApproved || rc.Approval.Approvers[0].Login != "alice" {
			t.Errorf("receipt approval %+v", rc.Approval)
		}
	})

	t.Run("a merge runs through the SOAP API and the merged record goes to the recycle bin", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "approve", merge.Batch})
		h.expectAs("bob", 0, []string{"merge", merge.Batch})
		h.ok("", "apply")
		_, deleted, master, _ := sf.Get("Contact", dup)
		if !deleted || master != keep {
			t.Errorf("the duplicate: deleted %v, master %q; want in the recycle bin, merged into %s", deleted, master, keep)
		}
		if st := h.status(merge.Batch, "c1"); st != batch.StatusApplied {
			t.Errorf("merge status %s", st)
		}
	})

	t.Run("a rejected change is recorded and not proposed again", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "reject", owner.Batch, "--reason", "Olga keeps Bob"})
		if again := h.propose(set("owner", bob, "OwnerId", "", "005000000000001AAA", 1)); len(again) != 0 {
			t.Errorf("a rejected change was proposed again: %+v", again)
		}
	})

	t.Run("revert proposes the inverse; unmerge undeletes and says what it cannot restore", func(t *testing.T) {
		var reverts, unmerges []proposed
		h.jsonOut(&reverts, "", "revert", overwrite.Batch, "--json")
		h.jsonOut(&unmerges, "", "revert", merge.Batch, "--json")
		if len(reverts) != 1 || len(unmerges) != 1 {
			r := h.run("", "revert", overwrite.Batch)
			t.Fatalf("reverts %+v, unmerges %+v\n%s%s", reverts, unmerges, r.out, r.err)
		}
		for _, p := range []proposed{reverts[0], unmerges[0]} {
			h.expectAs("alice", 0, []string{"review", "approve", p.Batch})
			h.expectAs("bob", 0, []string{"merge", p.Batch})
		}
		h.run("", "apply")
		if got := sfField(sf, "Contact", bob, "Title"); got != "CTO" {
			t.Errorf("Bob's Title after the revert = %q, want CTO", got)
		}
		_, deleted, _, _ := sf.Get("Contact", dup)
		unmerged := h.receipt(unmerges[0].Batch).Changes[0]
		if deleted || unmerged.Status != batch.StatusApplied || !strings.Contains(strings.ToLower(unmerged.Error), "related") {
			t.Errorf("unmerge: deleted %v, %+v; want the record back and a plain word on related records not moved back", deleted, unmerged)
		}
	})

	t.Run("audit tells the story of a record from git alone", func(t *testing.T) {
		h.expect(0, "", []string{"audit", "Contact/" + bob}, "Title", "Chief Technology Officer", "approved by alice")
	})

	t.Run("the token is never printed", func(t *testing.T) {
		for _, argv := range [][]string{{"apply"}, {"review", "list", "--all"}, {"crm", "get", "Contact/" + ann, "--json"}} {
			if r := h.run("", argv...); strings.Contains(r.out+r.err, "sf-secret-token") {
				t.Errorf("crmops %s printed the token", strings.Join(argv, " "))
			}
		}
		h.env["SALESFORCE_TOKEN"] = "00Dxx-revoked-session-7731"
		r := h.run("", "crm", "get", "Contact/"+ann)
		h.env["SALESFORCE_TOKEN"] = "sf-secret-token"
		if r.code == 0 || !strings.Contains(r.err, "SALESFORCE_TOKEN") || strings.Contains(r.err, "revoked-session-7731") {
			t.Errorf("an invalid token: exit %d, %q; want an error naming the variable, not the token", r.code, r.err)
		}
	})
}

func TestEveryDetectorRunsOnSalesforce(t *testing.T) {
	h, sf := salesforceRepo(t)
	old := "2024-01-05T10:00:00.000+0000"
	sf.Seed("Contact", map[string]any{"Email": "dee@acme.com", "FirstName": "Dee", "LastName": "Orr", "MailingCity": "Boston", "CreatedDate": old})
	sf.Seed("Contact", map[string]any{"Email": "Dee@Acme.com", "FirstName": "Dee", "LastName": "Orr", "MailingCity": "Boston"})
	sf.Seed("Contact", map[string]any{"Email": "ann@acme.com", "FirstName": "Ann", "LastName": "Lee", "Title": nil})
	sf.Seed("Contact", map[string]any{"Email": "eve@acme.com", "FirstName": "Eve", "LastName": "Ng", "Email_Status__c": nil})
	lead := sf.Seed("Lead", map[string]any{"Email": "lou@beta.io", "FirstName": "Lou", "LastName": "Kim", "Company": "Beta", "Status": "Open - Not Contacted"})
	h.writeFile("data/events.jsonl", fmt.Sprintf(`{"record": %q, "event": "email_replied", "time": "2026-11-20T10:00:00Z"}`+"\n", lead))
	h.writeFile("data/owners.csv", "id,name,email,active\n005000000000001AAA,Olga,olga@acme.com,true\n")
	h.writeFile("data/zerobounce.csv", "Email Address,ZB Status\neve@acme.com,valid\n")
	h.writeFile("data/clay-export.csv", "email,Title\nann@acme.com,VP Sales\n")
	var out []proposed
	r := h.run("", "detect", "--json", "--no-merge")
	if r.code != 0 {
		t.Fatalf("detect: exit %d\n%s", r.code, r.err)
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	seen := map[string]bool{}
	for _, p := range out {
		b := readBranchFile(t, h, p.Batch)
		for _, want := range []string{"object: Contact", "object: Lead", "field: Title", "field: Status", "field: Email_Status__c", "op: merge"} {
			if strings.Contains(b, want) {
				seen[want] = true
			}
		}
		if strings.Contains(b, "object: contacts") {
			t.Errorf("batch %s names HubSpot's contacts", p.Batch)
		}
	}
	for _, want := range []string{"object: Contact", "object: Lead", "field: Title", "field: Status", "field: Email_Status__c", "op: merge"} {
		if !seen[want] {
			t.Errorf("no proposal has %q; detect said:\n%s", want, r.err)
		}
	}
}

// A kill -9 of apply against Salesforce, mid-batch, then a rerun: every
// change is written exactly once.
func TestApplyOnSalesforceSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bin := buildBinary(t)
	h, sf := salesforceRepo(t)
	const records = 450 // three collection calls of at most 200
	var changes strings.Builder
	ids := make([]string, records)
	for i := range records {
		ids[i] = sf.Seed("Contact", map[string]any{"Email": fmt.Sprintf("p%d@acme.com", i), "LastName": fmt.Sprint("P", i), "Title": nil})
		fmt.Fprintf(&changes, `{"kind":"enrichment","object":"Contact","record":%q,"op":"set","field":"Title","before":"","after":"Title %d","source":"clay","confidence":0.97,"trigger":"import"}`+"\n", ids[i], i)
	}
	proposed := h.propose(changes.String())
	if len(proposed) != 1 || proposed[0].State != "merged" {
		t.Fatalf("proposed %+v, want one auto batch, merged", proposed)
	}
	env := os.Environ()
	for k, v := range h.env {
		env = append(env, k+"="+v)
	}
	// The hook runs on the double's handler goroutines while the test
	// waits for the process: both counters are shared, and the kill is
	// counted before it is sent, so Wait cannot return first.
	var kills, writes atomic.Int32
	var proc atomic.Pointer[os.Process]
	var once sync.Once
	sf.AfterWrite(func(sftest.Write) {
		// In the middle of the second collection call's records.
		if p := proc.Load(); writes.Add(1) >= 250 && p != nil {
			once.Do(func() {
				kills.Add(1)
				_ = p.Signal(syscall.SIGKILL)
			})
		}
	})
	cmd := exec.Command(bin, "--repo", h.dir, "apply")
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	proc.Store(cmd.Process)
	err := cmd.Wait()
	if kills.Load() != 1 || err == nil {
		t.Fatalf("apply was not killed mid-batch (kills %d, err %v)\n%s", kills.Load(), err, out.String())
	}
	done := 0
	for _, id := range ids {
		if sfField(sf, "Contact", id, "Title") != "" {
			done++
		}
	}
	if done == 0 || done == records {
		t.Fatalf("%d of %d written before the kill; the kill did not land mid-batch", done, records)
	}
	rerun := exec.Command(bin, "--repo", h.dir, "apply")
	rerun.Env = env
	if o, err := rerun.CombinedOutput(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, o)
	}
	perRecord := map[string]int{}
	for _, w := range sf.Writes() {
		if _, ok := w.Fields["Title"]; ok {
			perRecord[w.ID]++
		}
	}
	for i, id := range ids {
		if perRecord[id] != 1 || sfField(sf, "Contact", id, "Title") != fmt.Sprint("Title ", i) {
			t.Errorf("Contact/%s: Title written %d times, now %q", id, perRecord[id], sfField(sf, "Contact", id, "Title"))
		}
	}
	counts := map[string]int{}
	for _, c := range h.receipt(proposed[0].Batch).Changes {
		counts[c.Status]++
	}
	if counts[batch.StatusApplied]+counts[batch.StatusAlreadyApplied] != records {
		t.Errorf("receipt statuses %v, want %d applied or already applied", counts, records)
	}
	t.Logf("killed after %d of %d records were written; the rerun wrote the rest once", done, records)
}
