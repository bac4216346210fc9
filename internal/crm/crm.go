// Package crm defines what crmops needs from a CRM: batched reads for
// detectors and compare-and-swap, and batched writes whose results are
// reported per change. The embedded SQLite CRM and HubSpot both sit behind it.
package crm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/textdist"
)

// Record is one CRM object instance. Every field value is a string; an absent
// field and an empty string are the same thing ("empty").
type Record struct {
	ID     string
	Fields map[string]string
	// MergedInto is the survivor's id when this record was merged away.
	MergedInto string
}

// Status is the outcome of one write, in the receipt's vocabulary.
type Status string

// Write outcomes. They are the receipt's statuses.
const (
	Applied        Status = "applied"
	AlreadyApplied Status = "already_applied"
	Stale          Status = "stale"
	Failed         Status = "failed"
)

// SetRequest asks to set Field of Object/Record to After, but only if its
// current value still equals Before ("" = empty).
type SetRequest struct {
	Object string
	Record string
	Field  string
	Before string
	After  string
	// Source is stored in the CRM's property history, where the CRM keeps one.
	Source string
}

// MergeRequest asks to merge Loser into Survivor. The survivor keeps its id;
// the loser is marked merged into it.
type MergeRequest struct {
	Object   string
	Survivor string
	Loser    string
	Source   string
	// Snapshot is the loser's fields as detected, for Unmerge to restore.
	Snapshot map[string]string
}

// Result is what happened to one request, index-aligned with the requests.
type Result struct {
	Status Status
	// Observed is the value seen just before the write was decided
	// (for a merge: the loser's merged_into, "" if it was live).
	Observed string
	// Error explains stale and failed results.
	Error string
}

// HistoryEntry is one change the CRM itself recorded for a field.
type HistoryEntry struct {
	Object string
	Record string
	Field  string
	Old    string
	New    string
	Source string
	At     time.Time
}

// ErrNotFound reports a record that does not exist.
var ErrNotFound = errors.New("record not found")

// Connector is a CRM crmops can read and change.
type Connector interface {
	// Get reads records by id in one batch. Ids that do not exist are absent
	// from the map. fields limits the fields returned; nil means all.
	Get(ctx context.Context, object string, ids []string, fields []string) (map[string]Record, error)
	// List calls fn for every live (not merged) record of object, in id order.
	List(ctx context.Context, object string, fields []string, fn func(Record) error) error
	// CompareAndSet performs each request with compare-and-swap, as strongly
	// as the CRM allows, and reports one Result per request. The error is for
	// failures of the whole call; per-request failures are in the results.
	CompareAndSet(ctx context.Context, reqs []SetRequest) ([]Result, error)
	// Merge merges records, one Result per request.
	Merge(ctx context.Context, reqs []MergeRequest) ([]Result, error)
	// Unmerge makes each merged-away Loser a separate record again, with
	// its Snapshot fields; a CRM that cannot undo merges reports Failed
	// with what a person must restore by hand.
	Unmerge(ctx context.Context, reqs []MergeRequest) ([]Result, error)
	// Close releases the connection.
	Close() error
}

// StandardObjects exist in every CRM from the start, as in HubSpot, even
// before they have records: importing into them needs no confirmation that
// a new object is meant.
var StandardObjects = []string{"companies", "contacts", "deals"}

// embeddedObject is the embedded CRM's rule for object names: HubSpot's
// (lower case), so that "Contacts" is a near miss, not a second object.
var embeddedObject = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// CheckObjectName refuses an object name the embedded CRM does not take
// (lower case, and one batch.ValidObject accepts), since records imported
// under it could never be corrected by crmops. A near miss of a standard
// object ("Contacts") is suggested. No option allows such a name.
func CheckObjectName(object string) error {
	if batch.ValidObject(object) && embeddedObject.MatchString(object) {
		return nil
	}
	msg := fmt.Sprintf("object %q is not a valid object name (lower case letters, digits, _)", object)
	if s := SuggestObject(object, StandardObjects); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return errors.New(msg)
}

// CheckImportTarget refuses to create an object by accident: importing into
// object is allowed when it is standard or among have, the objects the CRM
// already has records of. Otherwise a typo ("contact", "compnies") would
// silently start a new object beside the real one, so the error names the
// known objects, suggests a near miss, and says that crmops' --new-object
// creates the object deliberately (the caller skips this check then).
func CheckImportTarget(object string, have []string) error {
	known := slices.Clone(StandardObjects)
	for _, o := range have {
		if !slices.Contains(known, o) {
			known = append(known, o)
		}
	}
	slices.Sort(known)
	if slices.Contains(known, object) {
		return nil
	}
	msg := fmt.Sprintf("the CRM has no object %q (it has %s)", object, strings.Join(known, ", "))
	if s := SuggestObject(object, known); s != "" {
		return fmt.Errorf("%s; did you mean %q? To create %q, run again with --new-object", msg, s, object)
	}
	return errors.New(msg + "; to create it, run again with --new-object")
}

// SuggestObject returns the name in known closest to object when object is
// a near miss of it (another case, a singular, a separator, or a typo or
// two away), else "". People type object names from memory, and HubSpot
// shows them capitalised and singular ("Contact"), so an error that names
// the likely intended object saves a round trip. object itself is never
// suggested.
func SuggestObject(object string, known []string) string {
	stem := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.NewReplacer("-", "_", " ", "_").Replace(s)
		switch {
		case strings.HasSuffix(s, "ies"):
			s = strings.TrimSuffix(s, "ies") + "y"
		case strings.HasSuffix(s, "s"):
			s = strings.TrimSuffix(s, "s")
		}
		return s
	}
	want := stem(object)
	// Short names allow one edit only: two would make "x" a near miss of
	// any two-letter name.
	limit := 1
	if len(want) >= 5 {
		limit = 2
	}
	best, bestDist := "", -1
	for _, k := range known {
		if k == object {
			continue
		}
		d := textdist.Levenshtein(want, stem(k))
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}
