// Package audit answers, for a CRM record (and optionally one field), every
// proposal, decision, approver and execution that touched it, from the
// repository alone.
//
// It reads the checkout of the base branch, which crmops keeps in step with
// every merge and receipt, instead of walking history: batch, receipt and
// rejection files already hold every audit fact (receipts name their merge
// commit), so one pass over proposals/ with a byte pre-filter answers a query
// in about the time `git grep -l` takes to find the record's id.
package audit

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
)

// Entry is one change to the record, in the SPEC's --json shape.
type Entry struct {
	Batch       string   `json:"batch"`
	Change      string   `json:"change"`
	Object      string   `json:"object"`
	Record      string   `json:"record"`
	Field       string   `json:"field"`
	Op          string   `json:"op"`
	Before      string   `json:"before"`
	After       string   `json:"after"`
	MergeFrom   string   `json:"merge_from,omitempty"`
	Source      string   `json:"source"`
	Confidence  float64  `json:"confidence"`
	Decision    string   `json:"decision"`
	Approvers   []string `json:"approvers"`
	Status      string   `json:"status"`
	At          string   `json:"at"`
	Commit      string   `json:"commit"`
	PullRequest int      `json:"pull_request"`
	// Extra facts for people: the policy and rules, and why it was proposed.
	Policy   string   `json:"policy,omitempty"`
	Rules    []string `json:"rules,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Observed string   `json:"observed_before,omitempty"`
	Error    string   `json:"error,omitempty"`
	// ModifiedBy names who changed this change between its proposal and
	// its merge, and in which commit ("<who> in <commit>").
	ModifiedBy []string `json:"modified_by,omitempty"`

	created time.Time
	index   int
}

// Decisions and statuses audit reports beyond the receipt's.
const (
	DecisionPending  = "pending"
	DecisionRejected = "rejected"
	StatusOpen       = "open"
	StatusMerged     = "merged"
)

// Query selects what to audit.
type Query struct {
	Object, Record, Field string
}

// Opens lists open proposals (the forge's view).
type Opens interface {
	List(ctx context.Context) ([]*forge.Open, error)
}

// Merges finds how a merged batch without a receipt was decided.
type Merges interface {
	MergedBy(ctx context.Context, batchID, path string) (*forge.Merged, error)
}

// Blobs reads git objects by id: the batch as it was merged, when the file
// was edited on the branch afterwards.
type Blobs interface {
	Blob(h gitrepo.Hash) ([]byte, error)
}

// Auditor reads the audit trail of a checkout.
type Auditor struct {
	// Dir is the checkout's root.
	Dir    string
	Opens  Opens
	Merges Merges
	Blobs  Blobs
}

type found struct {
	path string
	data []byte
}

// Record returns the timeline of q, oldest first.
func (a *Auditor) Record(ctx context.Context, q Query) ([]Entry, error) {
	batches, rejections, err := a.scan(q.Record)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range batches {
		rc := readReceipt(batch.ReceiptPath(f.path))
		// What ran is the batch as merged, which the receipt names: a file
		// edited on the branch since is not what happened.
		if rc != nil && a.Blobs != nil && plumbing.IsHash(rc.BatchBlob) && gitrepo.BlobHash(f.data).String() != rc.BatchBlob {
			if data, err := a.Blobs.Blob(plumbing.NewHash(rc.BatchBlob)); err == nil {
				f.data = data
			}
		}
		b, err := batch.Decode(f.path, f.data)
		if err != nil {
			continue // check reports invalid batches; audit shows what is valid
		}
		if !touches(b, q) {
			continue
		}
		var merged *forge.Merged
		if rc == nil && a.Merges != nil {
			rel := filepath.ToSlash(strings.TrimPrefix(f.path, a.Dir+string(filepath.Separator)))
			if merged, err = a.Merges.MergedBy(ctx, b.ID, rel); err != nil {
				return nil, err
			}
		}
		out = append(out, entries(b, q, func(e *Entry, c batch.Change) { fromReceipt(e, c, rc, merged) })...)
	}
	for _, f := range rejections {
		rej, err := batch.DecodeRejection(f.path, f.data)
		if err != nil {
			continue
		}
		for i, c := range rej.Changes {
			ch := batch.Change{ID: c.ID, Object: c.Object, Record: c.Record, Op: c.Op, Field: c.Field, After: c.After, MergeFrom: c.MergeFrom}
			if !matches(ch, q) {
				continue
			}
			out = append(out, Entry{
				Batch: rej.Batch, Change: c.ID, Object: c.Object, Record: c.Record, Field: c.Field, Op: c.Op,
				After: c.After, MergeFrom: c.MergeFrom, Decision: DecisionRejected, Status: DecisionRejected,
				At: stamp(rej.At), PullRequest: rej.PullRequest, Approvers: []string{}, Reason: rej.Reason,
				created: rej.At, index: i,
			})
		}
	}
	if a.Opens != nil {
		opens, err := a.Opens.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range opens {
			b, err := batch.Decode(o.Path, o.Content)
			if err != nil {
				continue
			}
			out = append(out, entries(b, q, func(e *Entry, c batch.Change) {
				e.Decision, e.Status, e.At, e.PullRequest = DecisionPending, StatusOpen, stamp(b.Created), o.PullRequest
			})...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		if out[i].Batch != out[j].Batch {
			return out[i].Batch < out[j].Batch
		}
		return out[i].index < out[j].index
	})
	return out, nil
}

func entries(b *batch.Batch, q Query, fill func(*Entry, batch.Change)) []Entry {
	var out []Entry
	for i, c := range b.Changes {
		if !matches(c, q) {
			continue
		}
		e := Entry{
			Batch: b.ID, Change: c.ID, Object: c.Object, Record: c.Record, Field: c.Field, Op: c.Op,
			Before: c.Before, After: c.After, MergeFrom: c.MergeFrom, Source: c.Source, Confidence: c.Confidence,
			Reason: c.Reason, Approvers: []string{}, created: b.Created, index: i,
		}
		fill(&e, c)
		out = append(out, e)
	}
	return out
}

// matches keeps changes to the record; with a field, sets of that field and
// merges (which can fill any field of the survivor).
func matches(c batch.Change, q Query) bool {
	if !c.Touches(q.Object, q.Record) {
		return false
	}
	return q.Field == "" || c.TwoRecords() || c.Field == q.Field
}

func fromReceipt(e *Entry, c batch.Change, rc *batch.Receipt, m *forge.Merged) {
	switch {
	case rc != nil:
		e.Decision, e.Policy, e.Rules = rc.Approval.Mode, rc.Approval.Policy, rc.Approval.Rules
		e.Commit, e.PullRequest = rc.MergeCommit, rc.Approval.PullRequest
		for _, a := range rc.Approval.Approvers {
			e.Approvers = append(e.Approvers, a.Login)
		}
		if r, ok := rc.Result(c.ID); ok {
			e.Status, e.At, e.Observed, e.Error = r.Status, stamp(r.At), r.ObservedBefore, r.Error
		}
		for _, m := range rc.Modified {
			if slices.Contains(m.Changes, c.ID) {
				e.ModifiedBy = append(e.ModifiedBy, m.By+" in "+m.Commit)
			}
		}
	case m != nil && m.MergeCommit != "":
		e.Decision, e.Status, e.Commit, e.PullRequest = m.Decision, StatusMerged, m.MergeCommit, m.PullRequest
		for _, a := range m.Approvals {
			e.Approvers = append(e.Approvers, a.Login)
		}
	default:
		e.Decision, e.Status = DecisionPending, StatusMerged
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func touches(b *batch.Batch, q Query) bool {
	for _, c := range b.Changes {
		if matches(c, q) {
			return true
		}
	}
	return false
}

func readReceipt(path string) *batch.Receipt {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	rc, err := batch.DecodeReceipt(path, data)
	if err != nil {
		return nil
	}
	return rc
}

// scan reads every batch and rejection file below proposals/ that mentions
// id, in parallel. Receipts are read only for batches that match.
func (a *Auditor) scan(id string) (batches, rejections []found, err error) {
	root := filepath.Join(a.Dir, batch.Dir)
	var paths []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, batch.ReceiptSuffix) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	needle := []byte(id)
	workers := runtime.GOMAXPROCS(0) * 2
	jobs := make(chan string, workers*4)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One buffer per reader: only the few files that mention id
			// are copied out of it.
			buf := make([]byte, 64<<10)
			for p := range jobs {
				got, err := readInto(p, buf)
				buf = got[:cap(got)]
				if err != nil || !bytes.Contains(got, needle) {
					continue
				}
				data := bytes.Clone(got)
				mu.Lock()
				if strings.HasSuffix(p, batch.RejectionSuffix) {
					rejections = append(rejections, found{p, data})
				} else {
					batches = append(batches, found{p, data})
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	return batches, rejections, nil
}
