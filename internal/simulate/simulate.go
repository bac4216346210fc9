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
	ByKind   map[string]int `json:"by_kind"`
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
	verdicts []policy.Verdict
	err      *FileError
	skip     bool // outside the time window
}

// Run replays every batch under dir/proposals/ created at or after since
// (zero: all) under pol.
func Run(dir string, pol *policy.Policy, since time.Time) (*Report, error) {
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
		results[i] = replay(batches[i], rel(batches[i]), files, pol, since)
	})

	rep := &Report{Decisions: map[string]map[string]int{}, Errors: []FileError{}}
	if !since.IsZero() {
		rep.Since = since.UTC().Format(time.RFC3339)
	}
	for _, g := range []*Group{&rep.ToReview, &rep.ToAuto, &rep.Denied} {
		*g = Group{ByRule: map[string]int{}, ByKind: map[string]int{}, Examples: []Example{}}
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
func replay(path, name string, files map[string]bool, pol *policy.Policy, since time.Time) replayed {
	r := replayed{file: name}
	fail := func(file string, err error) replayed {
		r.err = &FileError{File: file, Error: err.Error()}
		return r
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(name, err)
	}
	b, err := decodeBatch(name, data)
	if err != nil {
		return fail(name, err)
	}
	r.b = b
	if !since.IsZero() && b.Created.Before(since) {
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
		rc, err := decodeReceipt(batch.ReceiptPath(name), data)
		if err != nil {
			return fail(batch.ReceiptPath(name), err)
		}
		r.was, r.approval = rc.Approval.Mode, rc.Approval
	case files[batch.RejectionPath(path)]:
		r.was = WasRejected
	default:
		r.was = WasPending
	}
	r.verdicts = make([]policy.Verdict, len(b.Changes))
	for i, c := range b.Changes {
		v := pol.Evaluate(c)
		// The batch's own review key (a run limit) holds its auto changes
		// for a person. EvaluateBatch applies it only to an all-auto batch
		// because a batch with a review change needs a person anyway; the
		// proposed policy would split such a batch, and its auto part would
		// meet the same limit.
		if b.Review != "" && v.Decision == policy.Auto {
			v = policy.Verdict{Decision: policy.Review, Rule: policy.RuleBatchReview, Approvals: v.Approvals}
		}
		r.verdicts[i] = v
	}
	return r
}

func (rep *Report) add(r replayed) {
	rep.Batches++
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
		if !inGroup[g] {
			inGroup[g] = true
			g.Batches++
		}
		if len(g.Examples) < MaxExamples {
			g.Examples = append(g.Examples, example(r, c, v))
		}
	}
}

func example(r replayed, c batch.Change, v policy.Verdict) Example {
	e := Example{
		Batch: r.b.ID, File: r.file, Created: r.b.Created.UTC().Format(time.RFC3339), Change: c.ID,
		Kind: c.Kind, Target: c.Target(), Before: c.Before, After: c.After, Source: c.Source,
		Confidence: c.Confidence, Was: r.was, WasRules: r.approval.Rules, Approvers: []string{},
		Now: string(v.Decision), Rule: v.Rule,
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
