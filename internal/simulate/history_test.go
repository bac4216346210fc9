package simulate_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/simulate"
)

// mix says how a seeded history ends: the share of review batches, and of
// batches that are pending, rejected or refused instead of applied.
type mix struct {
	review, pending, rejected, refused, limit float64
}

// realistic is a repository's history: mostly auto batches, a third for
// review, a few pending, rejected, refused, and limit-held batches.
var realistic = mix{review: 0.35, pending: 0.05, rejected: 0.05, refused: 0.02, limit: 0.02}

// applied is a history where every batch has its receipt.
var applied = mix{review: 0.35, refused: 0.01, limit: 0.01}

// seededChange is the truth about one change of a seeded history.
type seededChange struct {
	batch   string
	created time.Time
	was     string // simulate.Was*; "" for rejected batches that leave no batch file
	limit   bool   // the batch carries a review key (a run limit)
	c       batch.Change
}

type history struct {
	batches     int // batch files written
	rejectedOff int // rejections without a batch file
	changes     []seededChange
}

var start = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

// seedHistory writes n batches of perBatch changes under dir/proposals/,
// sharded by month as crmops writes them, with receipts and rejections as
// m says. Every decision recorded is the one policy.Default gives.
func seedHistory(tb testing.TB, dir string, n, perBatch int, m mix, seed uint64) history {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var h history
	record := 100000
	for i := range n {
		created := start.Add(time.Duration(i) * 37 * time.Minute)
		review := r.Float64() < m.review
		limit := !review && r.Float64() < m.limit
		scenario := pick(r, review)
		var changes []batch.Change
		for j := range perBatch {
			record++
			c := scenario(r, record)
			c.ID = fmt.Sprintf("c%d", j+1)
			changes = append(changes, c)
		}
		detector := changes[0].Kind
		b := &batch.Batch{Version: batch.Version, Created: created, Detector: detector,
			Title: fmt.Sprintf("%d %s changes", len(changes), detector), Changes: changes}
		if limit {
			b.Review = "this run's auto changes passed limits.max_auto_changes_per_run (500)"
		}
		b.ID = batch.NewID(created, detector, changes)
		path := filepath.Join(dir, filepath.FromSlash(batch.Path(b.ID)))

		was := simulate.WasAuto
		if review || limit {
			was = simulate.WasApproved
		}
		switch x := r.Float64(); {
		case x < m.pending:
			was = simulate.WasPending
		case x < m.pending+m.rejected:
			if review || limit { // auto batches are merged at once, never rejected
				was = ""
			}
		case x < m.pending+m.rejected+m.refused:
			was = simulate.WasRefused
		}
		for _, c := range changes {
			h.changes = append(h.changes, seededChange{batch: b.ID, created: created, was: was, limit: limit, c: c})
		}
		if was == "" {
			rej := &batch.Rejection{Version: batch.Version, Batch: b.ID, RejectedBy: "bob", At: created.Add(2 * time.Hour), Reason: "not now"}
			for _, c := range changes {
				rej.Changes = append(rej.Changes, batch.Rejected(c))
			}
			writeYAML(tb, batch.RejectionPath(path), rej)
			h.rejectedOff++
			continue
		}
		writeYAML(tb, path, b)
		h.batches++
		if was == simulate.WasPending {
			continue
		}
		rc := &batch.Receipt{Version: batch.Version, Batch: b.ID, ExecutedBy: "crmops/v1.4.0",
			MergeCommit: fmt.Sprintf("%040x", r.Uint64())}
		bv := defaultPolicy.EvaluateBatch(b, policy.Proposer{})
		rc.Approval = batch.Approval{Mode: was, Policy: "policies/default.yaml@" + rc.MergeCommit, Rules: bv.Rules, PullRequest: i + 1}
		if was == simulate.WasApproved {
			rc.Approval.Approvers = []batch.Approver{{Login: "alice", At: created.Add(time.Hour)}}
		}
		if was == simulate.WasRefused {
			rc.Approval = batch.Approval{Mode: batch.ModeRefused, Refused: "no approval evidence: the batch reached main without a crmops merge"}
			rc.MergeCommit = ""
		}
		for _, c := range changes {
			res := batch.ChangeResult{ID: c.ID, Status: batch.StatusApplied, ObservedBefore: c.Before, After: c.After, At: created.Add(90 * time.Minute)}
			switch {
			case was == simulate.WasRefused:
				res = batch.ChangeResult{ID: c.ID, Status: batch.StatusSkipped}
			case r.IntN(50) == 0:
				res.Status, res.ObservedBefore, res.Error = batch.StatusStale, "changed meanwhile", "before no longer matches"
			}
			rc.Changes = append(rc.Changes, res)
		}
		writeYAML(tb, batch.ReceiptPath(path), rc)
	}
	return h
}

func writeYAML(tb testing.TB, path string, v any) {
	tb.Helper()
	data, err := batch.Encode(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

type scenario func(r *rand.Rand, record int) batch.Change

// pick chooses what a batch is about: for an auto batch, changes the
// default policy applies automatically; for a review batch, changes it
// sends to a person.
func pick(r *rand.Rand, review bool) scenario {
	auto := []scenario{fillEmpty, lifecycleEvent, emailValid}
	manual := []scenario{overwrite, dedupe, lifecycleScore, owner, emailRisky, lowConfidenceFill, custom}
	if review {
		return manual[r.IntN(len(manual))]
	}
	return auto[r.IntN(len(auto))]
}

var titles = []string{"VP Sales", "Head of Marketing", "CTO", "Account Executive", "Founder", "RevOps Lead"}

func set(kind, object string, record int, field, before, after, source string, confidence float64, trigger, reason string) batch.Change {
	return batch.Change{Kind: kind, Object: object, Record: fmt.Sprint(record), Op: batch.OpSet, Field: field,
		Before: before, After: after, Source: source, Confidence: confidence, Trigger: trigger, Reason: reason}
}

func conf(r *rand.Rand, lo, hi float64) float64 {
	return float64(int((lo+r.Float64()*(hi-lo))*100)) / 100
}

func fillEmpty(r *rand.Rand, rec int) batch.Change {
	return set("enrichment", "contacts", rec, "jobtitle", "", titles[r.IntN(len(titles))], "clay", conf(r, 0.9, 1), "import", "Clay row matched by email; field empty in CRM")
}

func lowConfidenceFill(r *rand.Rand, rec int) batch.Change {
	return set("enrichment", "contacts", rec, "jobtitle", "", titles[r.IntN(len(titles))], "clay", conf(r, 0.6, 0.89), "import", "Clay row matched by name only")
}

func overwrite(r *rand.Rand, rec int) batch.Change {
	return set("enrichment", "contacts", rec, "jobtitle", "Sales", titles[r.IntN(len(titles))], "clay", conf(r, 0.8, 1), "import", "Clay has a newer title")
}

func dedupe(r *rand.Rand, rec int) batch.Change {
	return batch.Change{Kind: "dedupe", Object: "contacts", Record: fmt.Sprint(rec), Op: batch.OpMerge, MergeFrom: fmt.Sprint(rec + 500000),
		Source: "dedupe", Confidence: conf(r, 0.85, 1), Trigger: "rule", Reason: "same email, name similarity 0.96",
		Snapshot: map[string]string{"email": fmt.Sprintf("p%d@example.com", rec), "firstname": "Ann"}}
}

func lifecycleEvent(r *rand.Rand, rec int) batch.Change {
	return set("lifecycle", "contacts", rec, "lifecyclestage", "lead", "customer", "hubspot", 1, "event", "deal closed won")
}

func lifecycleScore(r *rand.Rand, rec int) batch.Change {
	return set("lifecycle", "contacts", rec, "lifecyclestage", "lead", "marketingqualifiedlead", "scoring", conf(r, 0.7, 1), "score", "score passed 80")
}

func owner(r *rand.Rand, rec int) batch.Change {
	return set("owner", "companies", rec, "hubspot_owner_id", "17", fmt.Sprint(20+r.IntN(10)), "owners", 1, "rule", "owner 17 is deactivated")
}

func emailValid(r *rand.Rand, rec int) batch.Change {
	return set("email_verification", "contacts", rec, "email_status", "", "valid", "zerobounce", conf(r, 0.95, 1), "rule", "verified")
}

func emailRisky(r *rand.Rand, rec int) batch.Change {
	statuses := []string{"risky", "invalid", "unknown"}
	return set("email_verification", "contacts", rec, "email_status", "", statuses[r.IntN(len(statuses))], "zerobounce", conf(r, 0.9, 1), "rule", "verified")
}

func custom(r *rand.Rand, rec int) batch.Change {
	return set("custom", "deals", rec, "amount", "1000", fmt.Sprint(1001+r.IntN(9000)), "my-agent", 1, "manual", "price list update")
}
