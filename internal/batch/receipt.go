package batch

import (
	"path"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/strictyaml"
)

// Approval modes recorded in a receipt. Refused marks a batch that reached
// main without approval evidence: nothing of it was executed.
const (
	ModeAuto     = "auto"
	ModeApproved = "approved"
	ModeRefused  = "refused"
)

// Change statuses in a receipt. Every status is final: a receipt whose every
// change has one is complete and apply leaves the batch alone.
const (
	StatusApplied        = "applied"
	StatusAlreadyApplied = "already_applied"
	StatusStale          = "stale"
	StatusFailed         = "failed"
	StatusSkipped        = "skipped"
)

// Receipt records what apply did with a merged batch.
type Receipt struct {
	Version    int      `yaml:"version" strict:"required"`
	Batch      string   `yaml:"batch" strict:"required"`
	Approval   Approval `yaml:"approval" strict:"required"`
	ExecutedBy string   `yaml:"executed_by" strict:"required"`
	// MergeCommit is the commit that merged the batch, so audit can name it
	// without walking history.
	MergeCommit string `yaml:"merge_commit,omitempty"`
	// BatchBlob is the git blob id of the batch file that ran, as it was
	// merged: a batch file edited on main afterwards is told apart from
	// what ran, and audit reads the version that ran.
	BatchBlob string `yaml:"batch_blob,omitempty"`
	// Modified lists the commits that changed the batch after it was
	// proposed and before it was merged (reviewers' edits), oldest first.
	Modified []Modification `yaml:"modified,omitempty"`
	Changes  []ChangeResult `yaml:"changes"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Approval is the evidence apply accepted (or, for refused, why none was).
type Approval struct {
	Mode        string     `yaml:"mode" strict:"required"`
	Approvers   []Approver `yaml:"approvers"`
	Policy      string     `yaml:"policy,omitempty"`
	Rules       []string   `yaml:"rules,flow"`
	PullRequest int        `yaml:"pull_request,omitempty"`
	// Proposer is who proposed the batch, as the forge knows it.
	Proposer string `yaml:"proposer,omitempty"`
	Refused  string `yaml:"refused,omitempty"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Modification is a commit that changed a batch between its proposal and
// its merge, and who made it (as git and, where it knows, the forge say).
type Modification struct {
	Commit string `yaml:"commit" strict:"required"`
	By     string `yaml:"by" strict:"required"`
	// Changes are the ids of the changes the commit added, removed or
	// altered (empty when it changed only the batch's own keys).
	Changes []string `yaml:"changes,flow,omitempty"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Approver is one person whose approval counted.
type Approver struct {
	Login string    `yaml:"login" strict:"required"`
	At    time.Time `yaml:"at"`
}

// ChangeResult is the outcome of one change.
type ChangeResult struct {
	ID             string    `yaml:"id" strict:"required"`
	Status         string    `yaml:"status" strict:"required"`
	ObservedBefore string    `yaml:"observed_before"`
	After          string    `yaml:"after"`
	At             time.Time `yaml:"at"`
	Error          string    `yaml:"error"`

	Pos strictyaml.Pos `yaml:"-"`
}

var statuses = []string{StatusApplied, StatusAlreadyApplied, StatusStale, StatusFailed, StatusSkipped}

// DecodeReceipt decodes and checks a receipt file: by the fast path when
// it is in the form crmops writes (see fastReceipt), strictly otherwise,
// with the same result either way.
func DecodeReceipt(file string, data []byte) (*Receipt, error) {
	if !strictOnly {
		if r, ok := fastReceipt(file, data); ok {
			return r, nil
		}
	}
	return decodeReceiptStrict(file, data)
}

// decodeReceiptStrict is DecodeReceipt by the strict decoder alone.
func decodeReceiptStrict(file string, data []byte) (*Receipt, error) {
	var r Receipt
	if err := strictyaml.Decode(file, data, &r); err != nil {
		return nil, err
	}
	if err := r.check(file); err != nil {
		return nil, err
	}
	return &r, nil
}

// check is what DecodeReceipt checks past decoding.
func (r *Receipt) check(file string) error {
	if r.Version != Version {
		return r.Pos.Errorf(file, "version", "unsupported version %d", r.Version)
	}
	if want := strings.TrimSuffix(path.Base(file), ReceiptSuffix); file != "" && want != r.Batch {
		return r.Pos.Errorf(file, "batch", "batch id %q differs from the file name %q", r.Batch, path.Base(file))
	}
	switch r.Approval.Mode {
	case ModeAuto, ModeApproved, ModeRefused:
	default:
		return r.Approval.Pos.Errorf(file, "mode", "unknown approval mode %q (auto, approved or refused)", r.Approval.Mode)
	}
	for i := range r.Changes {
		if c := &r.Changes[i]; !contains(statuses, c.Status) {
			return c.Pos.Errorf(file, "status", "unknown status %q (one of %s)", c.Status, strings.Join(statuses, ", "))
		}
	}
	return nil
}

// Result returns the result recorded for change id.
func (r *Receipt) Result(id string) (ChangeResult, bool) {
	for _, c := range r.Changes {
		if c.ID == id {
			return c, true
		}
	}
	return ChangeResult{}, false
}

// Complete reports whether every change of b has a result.
func (r *Receipt) Complete(b *Batch) bool {
	for _, c := range b.Changes {
		if _, ok := r.Result(c.ID); !ok {
			return false
		}
	}
	return true
}

// Rejection records a rejected batch, so its changes are not proposed again.
type Rejection struct {
	Version     int              `yaml:"version" strict:"required"`
	Batch       string           `yaml:"batch" strict:"required"`
	RejectedBy  string           `yaml:"rejected_by" strict:"required"`
	At          time.Time        `yaml:"at" strict:"required"`
	Reason      string           `yaml:"reason"`
	PullRequest int              `yaml:"pull_request,omitempty"`
	Changes     []RejectedChange `yaml:"changes"`

	Pos strictyaml.Pos `yaml:"-"`
}

// RejectedChange is the identity of a rejected change: the same record,
// field and value are not proposed again.
type RejectedChange struct {
	ID        string `yaml:"id"`
	Object    string `yaml:"object"`
	Record    string `yaml:"record"`
	Op        string `yaml:"op"`
	Field     string `yaml:"field,omitempty"`
	After     string `yaml:"after,omitempty"`
	MergeFrom string `yaml:"merge_from,omitempty"`
}

// Key identifies a change for re-proposal suppression.
func (c RejectedChange) Key() string {
	return strings.Join([]string{c.Object, c.Record, c.Op, c.Field, c.After, c.MergeFrom}, "\x00")
}

// RejectionKey is the Key the change would have once rejected.
func (c Change) RejectionKey() string { return Rejected(c).Key() }

// Rejected converts a change to its rejection identity.
func Rejected(c Change) RejectedChange {
	return RejectedChange{ID: c.ID, Object: c.Object, Record: c.Record, Op: c.Op, Field: c.Field, After: c.After, MergeFrom: c.MergeFrom}
}

// DecodeRejection strictly decodes a rejection record. (Rejections are one
// per rejected batch and small; the fast path does not read them.)
func DecodeRejection(file string, data []byte) (*Rejection, error) {
	var r Rejection
	if err := strictyaml.Decode(file, data, &r); err != nil {
		return nil, err
	}
	if r.Version != Version {
		return nil, r.Pos.Errorf(file, "version", "unsupported version %d", r.Version)
	}
	return &r, nil
}
