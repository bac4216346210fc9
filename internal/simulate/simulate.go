// Package simulate replays a repository's history of batches under a
// proposed policy and reports what it would have decided differently: the
// changes that were applied automatically and would now wait for a person,
// the changes a person approved (or rejected) that would now be applied
// automatically, and everything the proposed policy denies.
//
// History is the checkout's proposals/ folder: every batch file with its
// receipt (whose approval mode says auto, approved or refused); a batch on
// the base branch without a receipt is pending (merged, not yet applied).
// A rejected batch leaves only its rejection record on the base branch,
// which keeps the changes' identity but not their kind, source or
// confidence: it cannot be replayed and is only counted.
//
// Every batch is decided as crmops decides a proposal: for who proposed it
// (Options.Proposers, which Proposers reads from the repository's merges),
// by the rules for its own kind and every kind whose fields it writes, the
// built-in guards, and the batch's limits. A difference a guard or a limit
// caused is counted under its rule name (Group.ByGuard) and its example
// says why in words.
package simulate

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// What happened to a change in the repository's history.
const (
	WasAuto     = "auto"     // applied with an auto decision
	WasApproved = "approved" // applied with a person's approval
	WasRefused  = "refused"  // reached the base branch without approval evidence; not applied
	WasPending  = "pending"  // merged, no receipt yet
	WasRejected = "rejected" // rejected by a person (its batch file still present)
)

// MaxExamples is how many examples each group of the report keeps, newest
// first.
const MaxExamples = 10

// Report is the outcome of a replay. Its JSON keys are stable.
type Report struct {
	// Policy names the proposed policy (set by the caller).
	Policy string `json:"policy"`
	// Since is the earliest batch creation time replayed, RFC 3339, or "".
	Since   string `json:"since,omitempty"`
	Batches int    `json:"batches"`
	Changes int    `json:"changes"`
	// Decisions counts changes by what happened (auto, approved, refused,
	// pending, rejected) and what the proposed policy decides.
	Decisions map[string]map[string]int `json:"decisions"`
	// ToReview: applied automatically, the proposed policy wants a person.
	ToReview Group `json:"to_review"`
	// ToAuto: approved or rejected by a person, the proposed policy would
	// apply them automatically.
	ToAuto Group `json:"to_auto"`
	// Denied: whatever happened, the proposed policy denies them.
	Denied Group `json:"denied"`
	// NotReplayed counts rejected batches known only by their rejection
	// record.
	NotReplayed int `json:"not_replayed"`
	// UnknownProposers counts the replayed batches whose proposer the
	// history does not record (no crmops merge of theirs was found): they
	// were decided as proposed by an unknown proposer, "", whom a policy
	// whose auto rules name proposers does not trust.
	UnknownProposers int `json:"unknown_proposers"`
	// Errors are files that could not be read or decoded; their batches
	// are left out.
	Errors []FileError `json:"errors"`
}

// Group is one kind of difference.
type Group struct {
	Changes int `json:"changes"`
	Batches int `json:"batches"`
	// ByRule counts the changes by the proposed policy's deciding rule.
	ByRule map[string]int `json:"by_rule"`
	// ByKind counts them by change kind.
	ByKind map[string]int `json:"by_kind"`
	// ByGuard counts those of them a built-in guard or a limit decided, by
	// its rule name (invariant:field-kind, invariant:never-auto,
	// invariant:proposer, freeze, limits.max_changes_per_batch,
	// limits.max_auto_changes_per_run, batch.review), and those decided as
	// another kind because they write its field, as fields.<kind>.
	ByGuard  map[string]int `json:"by_guard"`
	Examples []Example      `json:"examples"`
}

// Example is one change that would be decided differently.
type Example struct {
	Batch      string  `json:"batch"`
	File       string  `json:"file"`
	Created    string  `json:"created"`
	Change     string  `json:"change"`
	Kind       string  `json:"kind"`
	Target     string  `json:"target"`
	Before     string  `json:"before"`
	After      string  `json:"after"`
	Source     string  `json:"source"`
	Confidence float64 `json:"confidence"`
	// Was is what happened (auto, approved, ...), WasRules the rules its
	// receipt recorded, Approvers who approved it.
	Was       string   `json:"was"`
	WasRules  []string `json:"was_rules"`
	Approvers []string `json:"approvers"`
	// Now is the proposed policy's decision and Rule the rule that made it.
	Now  string `json:"now"`
	Rule string `json:"rule"`
	// Guard is the guard or limit that decided (as in Group.ByGuard), and
	// Why says in words why it overrode the rules; both "" when a rule
	// decided.
	Guard string `json:"guard"`
	Why   string `json:"why"`
	// Proposer is who the batch was replayed as proposed by ("" unknown).
	Proposer string `json:"proposer"`
}

// FileError is a file that could not be replayed.
type FileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// replayed is one batch as read from the checkout.
type replayed struct {
	file     string // relative to the checkout, slash-separated
	b        *batch.Batch
	was      string
	approval batch.Approval
	by       policy.Proposer
	known    bool // the history records by
	verdicts []verdict
	err      *FileError
	skip     bool // outside the time window
}

// verdict is the proposed policy's decision for one change, with the guard
// that made it, if one did.
type verdict struct {
	policy.Verdict
	guard string
}

// Options say what to replay and as whom.
type Options struct {
	// Since leaves out the batches created before it (zero: none).
	Since time.Time
	// Proposers are who proposed each batch, by batch id, as the
	// repository's history records it (see Proposers). A batch it does not
	// name is replayed as proposed by an unknown proposer and counted in
	// Report.UnknownProposers.
	Proposers map[string]policy.Proposer
}

// Run replays every batch under dir/proposals/ under pol, as o says.
func Run(dir string, pol *policy.Policy, o Options) (*Report, error) {
	since := o.Since
	root := filepath.Join(dir, batch.Dir)
	var batches, rejections []string
	files := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		files[p] = true
		switch {
		case strings.HasSuffix(p, batch.RejectionSuffix):
			rejections = append(rejections, p)
		case batch.IsBatchFile(p):
			batches = append(batches, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	rel := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil {
			return filepath.ToSlash(r)
		}
		return filepath.ToSlash(p)
	}

	results := make([]replayed, len(batches))
	parallel(len(batches), func(i int) {
		results[i] = replay(batches[i], rel(batches[i]), files, pol, o)
	})

	rep := &Report{Decisions: map[string]map[string]int{}, Errors: []FileError{}}
	if !since.IsZero() {
		rep.Since = since.UTC().Format(time.RFC3339)
	}
	for _, g := range []*Group{&rep.ToReview, &rep.ToAuto, &rep.Denied} {
		*g = Group{ByRule: map[string]int{}, ByKind: map[string]int{}, ByGuard: map[string]int{}, Examples: []Example{}}
	}
	var ok []replayed
	for _, r := range results {
		switch {
		case r.err != nil:
			rep.Errors = append(rep.Errors, *r.err)
		case !r.skip:
			ok = append(ok, r)
		}
	}
	// Newest first, so that the examples are the most recent.
	slices.SortFunc(ok, func(a, b replayed) int {
		if c := b.b.Created.Compare(a.b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.file, b.file)
	})
	for _, r := range ok {
		rep.add(r)
	}
	slices.SortFunc(rep.Errors, func(a, b FileError) int { return cmp.Compare(a.File, b.File) })

	for _, p := range rejections {
		if files[strings.TrimSuffix(p, batch.RejectionSuffix)+".yaml"] {
			continue // replayed with its batch file
		}
		if !since.IsZero() {
			data, err := os.ReadFile(p)
			if err != nil {
				rep.Errors = append(rep.Errors, FileError{File: rel(p), Error: err.Error()})
				continue
			}
			rej, err := batch.DecodeRejection(rel(p), data)
			if err != nil {
				rep.Errors = append(rep.Errors, FileError{File: rel(p), Error: err.Error()})
				continue
			}
			if rej.At.Before(since) {
				continue
			}
		}
		rep.NotReplayed++
	}
	return rep, nil
}

// parallel calls fn(i) for i in [0, n) on every processor.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// replay reads one batch and its receipt and decides its changes under pol.
func replay(path, name string, files map[string]bool, pol *policy.Policy, o Options) replayed {
	r := replayed{file: name}
	fail := func(file string, err error) replayed {
		r.err = &FileError{File: file, Error: err.Error()}
		return r
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(name, err)
	}
	b, err := batch.Decode(name, data)
	if err != nil {
		return fail(name, err)
	}
	r.b = b
	if !o.Since.IsZero() && b.Created.Before(o.Since) {
		r.skip = true
		return r
	}
	receipt := batch.ReceiptPath(path)
	switch {
	case files[receipt]:
		data, err := os.ReadFile(receipt)
		if err != nil {
			return fail(batch.ReceiptPath(name), err)
		}
		rc, err := batch.DecodeReceipt(batch.ReceiptPath(name), data)
		if err != nil {
			return fail(batch.ReceiptPath(name), err)
		}
		r.was, r.approval = rc.Approval.Mode, rc.Approval
	case files[batch.RejectionPath(path)]:
		r.was = WasRejected
	default:
		r.was = WasPending
	}
	r.by, r.known = o.Proposers[b.ID]
	r.verdicts = decide(pol, b, r.by)
	return r
}

// decide is the proposed policy's verdict for every change of b, proposed
// by by: each change's own, then the batch's limits and review key over
// its auto changes.
func decide(pol *policy.Policy, b *batch.Batch, by policy.Proposer) []verdict {
	bv := pol.EvaluateBatch(b, by)
	// A limit or the batch's review key holds the auto changes of an
	// all-auto batch for a person (EvaluateBatch names it last).
	held := ""
	if bv.Why != "" {
		held = bv.Rules[len(bv.Rules)-1]
	}
	out := make([]verdict, len(b.Changes))
	for i, c := range b.Changes {
		v := verdict{Verdict: bv.Changes[i], guard: guardOf(pol, c, by, bv.Changes[i])}
		switch {
		case v.Decision != policy.Auto:
		case held != "":
			v = verdict{Verdict: policy.Verdict{Decision: policy.Review, Rule: held, Approvals: v.Approvals, Why: bv.Why}, guard: held}
		case b.Review != "":
			// EvaluateBatch applies the review key only to an all-auto
			// batch because a batch with a review change needs a person
			// anyway; the proposed policy would split such a batch, and its
			// auto part would meet the same limit.
			v = verdict{Verdict: policy.Verdict{Decision: policy.Review, Rule: policy.RuleBatchReview, Approvals: v.Approvals,
				Why: "the batch asks for review: " + b.Review}, guard: policy.RuleBatchReview}
		}
		out[i] = v
	}
	return out
}

// guards are the rules a built-in guard reports when it overrides a
// change's rules.
var guards = map[string]bool{policy.RuleInvariantNeverAuto: true, policy.RuleInvariantProposer: true, policy.RuleFieldKind: true, policy.RuleFreeze: true}

// guardOf names what decided v beyond the rules for c's own kind: the
// guard that overrode them, or fields.<kind> for the other kind whose field
// c writes and whose stricter decision won; "" when its own rules decided.
// Only a verdict that says why needs the explanation, which is rare.
func guardOf(pol *policy.Policy, c batch.Change, by policy.Proposer, v policy.Verdict) string {
	switch {
	case v.Why == "":
		return ""
	case guards[v.Rule]:
		return v.Rule
	}
	e := pol.Explain(c, by)
	if e.Override != "" {
		return e.Override
	}
	for _, k := range e.AsKinds {
		rule := policy.RuleDefault
		if k.Matched != nil {
			rule = k.Matched.Name
		}
		if rule == v.Rule && k.Decided == v.Decision {
			return "fields." + k.Kind
		}
	}
	return ""
}

func (rep *Report) add(r replayed) {
	rep.Batches++
	if !r.known {
		rep.UnknownProposers++
	}
	inGroup := map[*Group]bool{}
	for i, c := range r.b.Changes {
		v := r.verdicts[i]
		rep.Changes++
		row := rep.Decisions[r.was]
		if row == nil {
			row = map[string]int{}
			rep.Decisions[r.was] = row
		}
		row[string(v.Decision)]++
		var g *Group
		switch {
		case v.Decision == policy.Deny:
			g = &rep.Denied
		case r.was == WasAuto && v.Decision == policy.Review:
			g = &rep.ToReview
		case (r.was == WasApproved || r.was == WasRejected) && v.Decision == policy.Auto:
			g = &rep.ToAuto
		default:
			continue
		}
		g.Changes++
		g.ByRule[v.Rule]++
		g.ByKind[c.Kind]++
		if v.guard != "" {
			g.ByGuard[v.guard]++
		}
		if !inGroup[g] {
			inGroup[g] = true
			g.Batches++
		}
		if len(g.Examples) < MaxExamples {
			g.Examples = append(g.Examples, example(r, c, v))
		}
	}
}

func example(r replayed, c batch.Change, v verdict) Example {
	e := Example{
		Batch: r.b.ID, File: r.file, Created: r.b.Created.UTC().Format(time.RFC3339), Change: c.ID,
		Kind: c.Kind, Target: c.Target(), Before: c.Before, After: c.After, Source: c.Source,
		Confidence: c.Confidence, Was: r.was, WasRules: r.approval.Rules, Approvers: []string{},
		Now: string(v.Decision), Rule: v.Rule, Guard: v.guard, Why: v.Why, Proposer: r.by.Login,
	}
	if e.WasRules == nil {
		e.WasRules = []string{}
	}
	for _, a := range r.approval.Approvers {
		e.Approvers = append(e.Approvers, a.Login)
	}
	return e
}

// Differs reports whether the proposed policy decides anything differently.
func (rep *Report) Differs() bool {
	return rep.ToReview.Changes+rep.ToAuto.Changes+rep.Denied.Changes > 0
}
