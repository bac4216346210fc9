package report

import (
	"errors"
	"io/fs"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
)

// Trailer keys of the merge commits crmops writes (review.Trailers).
const (
	trailerBatch    = "Crmops-Batch"
	trailerDecision = "Crmops-Decision"
	trailerRule     = "Crmops-Rule"
)

// Git is what the report reads from the repository; *gitrepo.Repo has it.
type Git interface {
	ListFiles(commit gitrepo.Hash, dir string) ([]string, error)
	ReadFile(commit gitrepo.Hash, path string) ([]byte, error)
	Blob(h gitrepo.Hash) ([]byte, error)
	Ref(name string) (gitrepo.Hash, error)
	Log(from gitrepo.Hash, firstParent bool, fn func(*gitrepo.Commit) error) error
}

// Source is where a history is read from.
type Source struct {
	Git  Git
	Base gitrepo.Hash // the base branch's commit: batches, receipts, rejections
	// Remote names the git remote whose proposal branches (crmops/<id>,
	// as last fetched) are read for a rejected batch, whose batch file
	// never reached the base branch: where the forge keeps a closed
	// proposal's branch (GitHub), the report knows its detector and kinds.
	// "" reads no branch.
	Remote string
	// Opens are the open proposals, counted as pending.
	Opens []*forge.Open
}

// Entry is one batch as the repository records it.
type Entry struct {
	ID string
	// Path is the batch file (on the base branch, or the open proposal's);
	// for a rejected batch whose file is gone, its rejection record.
	Path string
	// Batch is the batch as it was merged (the version its receipt names),
	// as proposed for an open or rejected one; nil when only a rejection
	// record is left of it.
	Batch     *batch.Batch
	Receipt   *batch.Receipt
	Rejection *batch.Rejection
	// Open is a proposal still under review.
	Open bool
	// MergeRules and MergeDecision are the Crmops-Rule and Crmops-Decision
	// trailers of the merge commit of a merged batch without a receipt.
	MergeRules    []string
	MergeDecision string
}

// History is every batch the report reads, in batch id order, and the
// files it could not read.
type History struct {
	Entries  []Entry
	Problems []Problem
}

// Problem is a file the report could not read.
type Problem struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// Load reads the batches created at or after since (zero: all) from the
// base branch, with their receipts and rejections, and the open proposals.
// Each file is read and decoded once; receipts and rejections only for the
// batches in the period. A file that does not decode is reported as a
// Problem, not an error: one bad file does not hide the rest.
func Load(src Source, since time.Time) (*History, error) {
	files, err := src.Git.ListFiles(src.Base, batch.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	type group struct{ batch, receipt, rejection string }
	groups := map[string]*group{}
	var ids []string
	h := &History{}
	for _, f := range files {
		id := batch.IDOfFile(f)
		if id == "" {
			continue
		}
		g := groups[id]
		if g == nil {
			g = &group{}
			groups[id] = g
			ids = append(ids, id)
		}
		slot := &g.batch
		switch {
		case strings.HasSuffix(f, batch.ReceiptSuffix):
			slot = &g.receipt
		case strings.HasSuffix(f, batch.RejectionSuffix):
			slot = &g.rejection
		}
		if *slot != "" {
			h.problem(f, "another file of batch "+id+" is "+*slot+"; the report reads that one")
			continue
		}
		*slot = f
	}
	sort.Strings(ids)
	inPeriod := func(t time.Time) bool { return since.IsZero() || !t.Before(since) }

	// Git is read in order, one file at a time; the strict decoding, which
	// is most of the work, runs on every core. Each file is decoded once,
	// and a receipt only when its batch is in the period.
	var withBatch []string
	for _, id := range ids {
		if groups[id].batch != "" {
			withBatch = append(withBatch, id)
		}
	}
	batchData := make([][]byte, len(withBatch))
	for i, id := range withBatch {
		if batchData[i], err = src.Git.ReadFile(src.Base, groups[id].batch); err != nil {
			return nil, err
		}
	}
	batches, batchErrs := make([]*batch.Batch, len(withBatch)), make([]error, len(withBatch))
	parallel(len(withBatch), func(i int) {
		batches[i], batchErrs[i] = batch.Decode(groups[withBatch[i]].batch, batchData[i])
	})
	var entries []Entry
	var receiptPaths []string
	var receiptData [][]byte
	var receiptOf []int // entries[k]'s receipt is receiptPaths[receiptOf[k]]; -1: none
	for i, id := range withBatch {
		g := groups[id]
		if batchErrs[i] != nil {
			h.problem(g.batch, batchErrs[i].Error())
			continue
		}
		if !inPeriod(batches[i].Created) {
			continue
		}
		at := -1
		if g.receipt != "" {
			data, err := src.Git.ReadFile(src.Base, g.receipt)
			if err != nil {
				h.problem(g.receipt, err.Error())
			} else {
				at = len(receiptPaths)
				receiptPaths, receiptData = append(receiptPaths, g.receipt), append(receiptData, data)
			}
		}
		entries = append(entries, Entry{ID: id, Path: g.batch, Batch: batches[i]})
		receiptOf = append(receiptOf, at)
		batchData[len(entries)-1] = batchData[i] // compacted beside entries
	}
	receipts, receiptErrs := make([]*batch.Receipt, len(receiptPaths)), make([]error, len(receiptPaths))
	parallel(len(receiptPaths), func(i int) {
		receipts[i], receiptErrs[i] = batch.DecodeReceipt(receiptPaths[i], receiptData[i])
	})
	for k := range entries {
		e, at := &entries[k], receiptOf[k]
		if at < 0 {
			continue
		}
		if receiptErrs[at] != nil {
			h.problem(receiptPaths[at], receiptErrs[at].Error())
			continue
		}
		e.Receipt = receipts[at]
		if plumbing.IsHash(e.Receipt.BatchBlob) && e.Receipt.BatchBlob != gitrepo.BlobHash(batchData[k]).String() {
			// The file was edited on the base branch after it ran: what
			// ran is what the receipt's results are of.
			if data, err := src.Git.Blob(plumbing.NewHash(e.Receipt.BatchBlob)); err == nil {
				if b, err := batch.Decode(e.Path, data); err == nil {
					e.Batch = b
				}
			}
		}
	}
	h.Entries = entries

	for _, id := range ids {
		g := groups[id]
		switch {
		case g.batch != "":
		case g.rejection != "":
			data, err := src.Git.ReadFile(src.Base, g.rejection)
			if err != nil {
				return nil, err
			}
			rej, err := batch.DecodeRejection(g.rejection, data)
			if err != nil {
				h.problem(g.rejection, err.Error())
				continue
			}
			e := Entry{ID: id, Path: g.rejection, Rejection: rej, Batch: rejectedBatch(src, id, g.rejection, rej)}
			if !inPeriod(e.Created()) {
				continue
			}
			h.Entries = append(h.Entries, e)
		case g.receipt != "":
			h.problem(g.receipt, "a receipt without its batch file")
		}
	}

	for _, o := range src.Opens {
		if groups[o.BatchID] != nil {
			continue // it is on the base branch already
		}
		b, err := batch.Decode(o.Path, o.Content)
		if err != nil {
			h.problem(o.Path+" (open proposal "+o.Branch+")", err.Error())
			continue
		}
		if inPeriod(b.Created) {
			h.Entries = append(h.Entries, Entry{ID: o.BatchID, Path: o.Path, Batch: b, Open: true})
		}
	}
	sort.SliceStable(h.Entries, func(i, j int) bool { return h.Entries[i].ID < h.Entries[j].ID })
	mergeTrailers(src, h.Entries)
	sort.Slice(h.Problems, func(i, j int) bool { return h.Problems[i].File < h.Problems[j].File })
	return h, nil
}

func (h *History) problem(file, msg string) {
	h.Problems = append(h.Problems, Problem{File: file, Error: msg})
}

// parallel calls fn(0) ... fn(n-1) on up to GOMAXPROCS goroutines and
// returns when all have returned; fn writes only its own i's results.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// rejectedBatch reads a rejected batch from its proposal branch, where the
// forge kept it, when the batch there is the one rejected (the same
// changes as the rejection record); nil otherwise.
func rejectedBatch(src Source, id, rejection string, rej *batch.Rejection) *batch.Batch {
	if src.Remote == "" {
		return nil
	}
	head, err := src.Git.Ref("refs/remotes/" + src.Remote + "/" + forge.BranchPrefix + id)
	if err != nil {
		return nil
	}
	path := strings.TrimSuffix(rejection, batch.RejectionSuffix) + ".yaml"
	data, err := src.Git.ReadFile(head, path)
	if err != nil {
		return nil
	}
	b, err := batch.Decode(path, data)
	if err != nil || len(b.Changes) != len(rej.Changes) {
		return nil
	}
	for i, c := range b.Changes {
		if c.RejectionKey() != rej.Changes[i].Key() {
			return nil
		}
	}
	return b
}

// mergeTrailers reads the rules and decision of the merge commits of the
// merged batches that have no receipt yet, walking the base branch's
// first-parent history once, only as far as the oldest of them. A history
// too shallow to walk (a CI checkout) leaves them unrecorded.
func mergeTrailers(src Source, entries []Entry) {
	want := map[string]*Entry{}
	for i := range entries {
		if e := &entries[i]; !e.Open && e.Rejection == nil && e.Receipt == nil && e.Batch != nil {
			want[e.ID] = e
		}
	}
	if len(want) == 0 {
		return
	}
	_ = src.Git.Log(src.Base, true, func(c *gitrepo.Commit) error {
		if len(c.Parents) != 2 {
			return nil
		}
		for _, id := range c.TrailerValues(trailerBatch) {
			if e := want[id]; e != nil {
				e.MergeRules = c.TrailerValues(trailerRule)
				if d := c.TrailerValues(trailerDecision); len(d) > 0 {
					e.MergeDecision = d[0]
				}
				delete(want, id)
			}
		}
		if len(want) == 0 {
			return gitrepo.ErrStop
		}
		return nil
	})
}

// Created is when the batch was proposed: its created time; for a
// rejected batch whose file is gone, the time in its id (batch.NewID), else
// the rejection's.
func (e *Entry) Created() time.Time {
	if e.Batch != nil {
		return e.Batch.Created.UTC()
	}
	if ts, _, ok := strings.Cut(e.ID, "-"); ok {
		if t, err := time.Parse("20060102T150405Z", ts); err == nil {
			return t
		}
	}
	if e.Rejection != nil {
		return e.Rejection.At.UTC()
	}
	return time.Time{}
}

// Rules are the rules recorded as deciding the batch: its receipt's,
// else its merge commit's; sorted, without repeats.
func (e *Entry) Rules() []string {
	var rules []string
	switch {
	case e.Receipt != nil:
		rules = e.Receipt.Approval.Rules
	case !e.Open && e.Rejection == nil:
		rules = e.MergeRules
	}
	out := append([]string(nil), rules...)
	sort.Strings(out)
	return compact(out)
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if v == "" || (i > 0 && v == s[i-1]) {
			continue
		}
		out = append(out, v)
	}
	return out
}

type changeOutcome struct {
	kind    string
	outcome Outcome
}

// outcomes says how each change of the batch ended.
func (e *Entry) outcomes() []changeOutcome {
	var out []changeOutcome
	switch {
	case e.Receipt != nil:
		refused := e.Receipt.Approval.Mode == batch.ModeRefused
		results := map[string]string{}
		for _, r := range e.Receipt.Changes {
			results[r.ID] = r.Status
		}
		ended := func(status string, ok bool) Outcome {
			switch {
			case refused:
				return Refused
			case !ok:
				return Pending // not yet applied: an interrupted apply
			}
			switch status {
			case batch.StatusApplied, batch.StatusAlreadyApplied:
				if e.Receipt.Approval.Mode == batch.ModeApproved {
					return Approved
				}
				return Auto
			case batch.StatusStale:
				return Stale
			case batch.StatusFailed:
				return Failed
			}
			return Skipped
		}
		if e.Batch == nil {
			for _, r := range e.Receipt.Changes {
				out = append(out, changeOutcome{NotRecorded, ended(r.Status, true)})
			}
			break
		}
		for _, c := range e.Batch.Changes {
			status, ok := results[c.ID]
			out = append(out, changeOutcome{c.Kind, ended(status, ok)})
		}
	case e.Rejection != nil:
		if e.Batch != nil {
			for _, c := range e.Batch.Changes {
				out = append(out, changeOutcome{c.Kind, Rejected})
			}
			break
		}
		for _, c := range e.Rejection.Changes {
			kind := NotRecorded
			if c.Op == batch.OpMerge || c.Op == batch.OpUnmerge {
				kind = "dedupe" // the only kind that merges
			}
			out = append(out, changeOutcome{kind, Rejected})
		}
	case e.Batch != nil:
		for _, c := range e.Batch.Changes {
			out = append(out, changeOutcome{c.Kind, Pending})
		}
	}
	return out
}

// approvalTime is how long the batch waited from its proposal to its first
// approval, for a batch applied after a person's approval.
func (e *Entry) approvalTime() (time.Duration, bool) {
	if e.Receipt == nil || e.Batch == nil || e.Receipt.Approval.Mode != batch.ModeApproved {
		return 0, false
	}
	var first time.Time
	for _, a := range e.Receipt.Approval.Approvers {
		if !a.At.IsZero() && (first.IsZero() || a.At.Before(first)) {
			first = a.At
		}
	}
	if first.IsZero() {
		return 0, false
	}
	// created is the proposer's claim; an approval cannot precede it.
	return max(first.Sub(e.Batch.Created), 0), true
}

// ReviewKeyLimit names a batch held for review by its review key when the
// key names no limit (e.g. an AI agent the configuration does not allow
// auto changes).
const ReviewKeyLimit = "(review key naming no limit)"

// limits names the limits that held the batch for review: those its
// review key or its recorded rules name, sorted; and its review key.
func (e *Entry) limits() ([]string, string) {
	var names []string
	review := ""
	if e.Batch != nil && e.Batch.Review != "" {
		review = e.Batch.Review
		found := limitPattern.FindAllString(review, -1)
		if len(found) == 0 {
			found = []string{ReviewKeyLimit}
		}
		names = append(names, found...)
	}
	for _, r := range e.Rules() {
		if strings.HasPrefix(r, "limits.") || strings.HasPrefix(r, "limit:") {
			names = append(names, r)
		}
	}
	sort.Strings(names)
	return compact(names), review
}
