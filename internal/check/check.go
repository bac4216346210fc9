// Package check validates batch files and reports each change's decision
// under a policy: what a pull request's check shows before anyone reviews.
package check

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
)

// Row is one line of the report, in the SPEC's --json shape. A file that
// cannot be decoded is one row with Error set.
type Row struct {
	File     string `json:"file"`
	Batch    string `json:"batch"`
	Change   string `json:"change"`
	Decision string `json:"decision"`
	Rule     string `json:"rule"`
	Error    string `json:"error"`
}

// Failed reports whether the row makes check fail: invalid or denied.
func (r Row) Failed() bool { return r.Error != "" || r.Decision == string(policy.Deny) }

// Expand turns files and directories into the batch files below them.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && batch.IsBatchFile(path) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", p, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Options say under what a batch is judged.
type Options struct {
	// Proposer is who proposed the batches, as the forge knows it (in a
	// pull request's check, its author); the zero value is unknown.
	Proposer policy.Proposer
	// Now is this machine's clock, for refusing batches dated in the future.
	Now time.Time
	// Merged, when set, returns the git blob id of a file (by its
	// repository path) as it was merged into the base branch, with the
	// commit that merged it, if it is there: a merged batch never changes.
	Merged func(path string) (commit, blob string, ok bool, err error)
}

// FutureSlack is how far ahead of the checking machine's clock a batch's
// created time may be (clocks disagree a little, never by a day).
const FutureSlack = 24 * time.Hour

// Files checks each file; names are reported relative to root when inside it.
func Files(root string, files []string, pol *policy.Policy, opts Options) []Row {
	var rows []Row
	for _, file := range files {
		name := file
		if rel, err := filepath.Rel(root, file); err == nil && filepath.IsLocal(rel) {
			name = filepath.ToSlash(rel)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			rows = append(rows, Row{File: name, Error: err.Error()})
			continue
		}
		if opts.Merged != nil {
			commit, blob, ok, err := opts.Merged(name)
			if err != nil {
				rows = append(rows, Row{File: name, Batch: batch.IDFromPath(name), Error: err.Error()})
				continue
			}
			if ok && gitrepo.BlobHash(data).String() != blob {
				rows = append(rows, Row{File: name, Batch: batch.IDFromPath(name), Error: fmt.Sprintf(
					"%s: changed after its merge %s; a merged batch never changes (what ran is the merged version): restore it, and propose a new batch for a new change",
					name, short(commit))})
				continue
			}
		}
		b, err := batch.Decode(name, data)
		if err != nil {
			rows = append(rows, Row{File: name, Batch: batch.IDFromPath(name), Error: err.Error()})
			continue
		}
		// Nothing decides on created, but a batch dated ahead is a batch
		// that lies about itself: refuse it before anyone reviews it.
		if !opts.Now.IsZero() && b.Created.After(opts.Now.Add(FutureSlack)) {
			err := b.Pos.Errorf(name, "created", "%s is more than %s ahead of this machine's clock; crmops sets created when it proposes",
				b.Created.UTC().Format(time.RFC3339), FutureSlack)
			rows = append(rows, Row{File: name, Batch: b.ID, Error: err.Error()})
			continue
		}
		bv := pol.EvaluateBatch(b, opts.Proposer)
		for i, c := range b.Changes {
			v := bv.Changes[i]
			rows = append(rows, Row{File: name, Batch: b.ID, Change: c.ID, Decision: string(v.Decision), Rule: v.Rule})
		}
	}
	return rows
}

func short(h string) string {
	if len(h) > 10 {
		return h[:10]
	}
	return h
}
