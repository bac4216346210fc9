package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/crmops/crmops/internal/crm"
)

// stored is a record row as the write paths need it.
type stored struct {
	fields     map[string]string
	mergedInto string
}

// load reads object/id inside tx; found is false when there is no such row.
func load(ctx context.Context, tx *sql.Tx, object, id string) (rec stored, found bool, err error) {
	var raw string
	err = tx.QueryRowContext(ctx,
		`SELECT fields, merged_into FROM records WHERE object = ? AND id = ?`,
		object, id).Scan(&raw, &rec.mergedInto)
	if errors.Is(err, sql.ErrNoRows) {
		return stored{}, false, nil
	}
	if err != nil {
		return stored{}, false, err
	}
	rec.fields, err = decodeFields(raw)
	if err != nil {
		return stored{}, false, err
	}
	return rec, true, nil
}

// setField applies one value with the CRM's rule that empty means absent.
func setField(fields map[string]string, field, value string) {
	if value == "" {
		delete(fields, field)
		return
	}
	fields[field] = value
}

func saveFields(ctx context.Context, tx *sql.Tx, object, id string, fields map[string]string, at string) error {
	raw, err := encodeFields(fields)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`UPDATE records SET fields = ?, updated_at = ? WHERE object = ? AND id = ?`,
		raw, at, object, id)
	return err
}

const insertHistory = `INSERT INTO history (object, record, field, old, new, source, at) VALUES (?, ?, ?, ?, ?, ?, ?)`

func appendHistory(ctx context.Context, tx *sql.Tx, object, id, field, old, new, source, at string) error {
	_, err := tx.ExecContext(ctx, insertHistory, object, id, field, old, new, source, at)
	return err
}

// CompareAndSet applies each request in its own transaction, so that the new
// value and its history row are written together or not at all, and one
// request's outcome never depends on another's failure.
//
// A value that already equals After is AlreadyApplied before anything else is
// judged, which makes re-running a batch after a crash safe. A missing record
// is Failed; a merged record or a value other than Before is Stale.
// Invalid requests (empty names) are Failed.
//
// The error reports a failure of the database itself or a cancelled context;
// the results then hold the outcomes of the requests performed before it.
func (db *DB) CompareAndSet(ctx context.Context, reqs []crm.SetRequest) ([]crm.Result, error) {
	results := make([]crm.Result, 0, len(reqs))
	for _, req := range reqs {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("sqlite: cas: %w", err)
		}
		res, err := db.compareAndSet(ctx, req)
		if err != nil {
			return results, fmt.Errorf("sqlite: cas %s/%s.%s: %w", req.Object, req.Record, req.Field, err)
		}
		results = append(results, res)
	}
	return results, nil
}

func (db *DB) compareAndSet(ctx context.Context, req crm.SetRequest) (crm.Result, error) {
	if req.Object == "" || req.Record == "" {
		return crm.Result{Status: crm.Failed, Error: "empty object or record id"}, nil
	}
	if err := checkField(req.Field); err != nil {
		return crm.Result{Status: crm.Failed, Error: err.Error()}, nil
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return crm.Result{}, err
	}
	defer tx.Rollback()

	rec, found, err := load(ctx, tx, req.Object, req.Record)
	if err != nil {
		return crm.Result{}, err
	}
	if !found {
		return crm.Result{Status: crm.Failed, Error: crm.ErrNotFound.Error()}, nil
	}
	current := rec.fields[req.Field]
	switch {
	case current == req.After:
		return crm.Result{Status: crm.AlreadyApplied, Observed: current}, nil
	case rec.mergedInto != "":
		return crm.Result{Status: crm.Stale, Observed: current,
			Error: fmt.Sprintf("record was merged into %s", rec.mergedInto)}, nil
	case current != req.Before:
		return crm.Result{Status: crm.Stale, Observed: current,
			Error: fmt.Sprintf("expected %q, found %q", req.Before, current)}, nil
	}

	at := timestamp(db.now())
	setField(rec.fields, req.Field, req.After)
	if err := saveFields(ctx, tx, req.Object, req.Record, rec.fields, at); err != nil {
		return crm.Result{}, err
	}
	if err := appendHistory(ctx, tx, req.Object, req.Record, req.Field, current, req.After, req.Source, at); err != nil {
		return crm.Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return crm.Result{}, err
	}
	return crm.Result{Status: crm.Applied, Observed: current}, nil
}

// Merge merges each loser into its survivor, one transaction per request.
// The survivor keeps its id and its non-empty fields; its empty fields are
// filled from the loser. The loser keeps its own data, so the merge can be
// inspected and undone, and is marked merged into the survivor, which hides
// it from List.
//
// A loser already merged into this survivor is AlreadyApplied. A loser merged
// elsewhere, or a survivor that was itself merged away, is Stale; a missing
// record is Failed. Observed is the loser's merged_into before the merge.
// The error is as for CompareAndSet.
func (db *DB) Merge(ctx context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	results := make([]crm.Result, 0, len(reqs))
	for _, req := range reqs {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("sqlite: merge: %w", err)
		}
		res, err := db.merge(ctx, req)
		if err != nil {
			return results, fmt.Errorf("sqlite: merge %s/%s into %s: %w", req.Object, req.Loser, req.Survivor, err)
		}
		results = append(results, res)
	}
	return results, nil
}

func (db *DB) merge(ctx context.Context, req crm.MergeRequest) (crm.Result, error) {
	if req.Object == "" || req.Survivor == "" || req.Loser == "" {
		return crm.Result{Status: crm.Failed, Error: "empty object, survivor or loser id"}, nil
	}
	if req.Survivor == req.Loser {
		return crm.Result{Status: crm.Failed, Error: "cannot merge a record into itself"}, nil
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return crm.Result{}, err
	}
	defer tx.Rollback()

	// The loser is judged first: once it points at the survivor the merge has
	// happened, whatever became of the survivor since (a re-run after a crash).
	loser, found, err := load(ctx, tx, req.Object, req.Loser)
	if err != nil {
		return crm.Result{}, err
	}
	if !found {
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("record %s to merge: %v", req.Loser, crm.ErrNotFound)}, nil
	}
	switch loser.mergedInto {
	case req.Survivor:
		return crm.Result{Status: crm.AlreadyApplied, Observed: loser.mergedInto}, nil
	case "":
	default:
		return crm.Result{Status: crm.Stale, Observed: loser.mergedInto,
			Error: fmt.Sprintf("record %s was merged into %s", req.Loser, loser.mergedInto)}, nil
	}
	survivor, found, err := load(ctx, tx, req.Object, req.Survivor)
	if err != nil {
		return crm.Result{}, err
	}
	if !found {
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("survivor %s: %v", req.Survivor, crm.ErrNotFound)}, nil
	}
	if survivor.mergedInto != "" {
		return crm.Result{Status: crm.Stale,
			Error: fmt.Sprintf("survivor %s was merged into %s", req.Survivor, survivor.mergedInto)}, nil
	}

	at := timestamp(db.now())
	var filled []string
	for field, value := range loser.fields {
		if survivor.fields[field] == "" && value != "" {
			survivor.fields[field] = value
			filled = append(filled, field)
		}
	}
	sort.Strings(filled) // history in a reproducible order
	if len(filled) > 0 {
		if err := saveFields(ctx, tx, req.Object, req.Survivor, survivor.fields, at); err != nil {
			return crm.Result{}, err
		}
	}
	for _, field := range filled {
		if err := appendHistory(ctx, tx, req.Object, req.Survivor, field, "", survivor.fields[field], req.Source, at); err != nil {
			return crm.Result{}, err
		}
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE records SET merged_into = ?, updated_at = ? WHERE object = ? AND id = ?`,
		req.Survivor, at, req.Object, req.Loser); err != nil {
		return crm.Result{}, err
	}
	if err := appendHistory(ctx, tx, req.Object, req.Loser, "merged_into", "", req.Survivor, req.Source, at); err != nil {
		return crm.Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return crm.Result{}, err
	}
	return crm.Result{Status: crm.Applied}, nil
}

// Upsert inserts or updates recs of object in one transaction: either every
// record is written or, on any error, none is. Each field in a record's
// Fields replaces the stored value ("" deletes it); fields it does not name
// are left alone. Every value that changes gets a history row with source.
// inserted counts new records, updated counts existing records with at least
// one changed field; records already up to date count in neither. Merged
// records are updated in place and stay merged.
func (db *DB) Upsert(ctx context.Context, object string, recs []crm.Record, source string) (inserted, updated int, err error) {
	if object == "" {
		return 0, 0, errors.New("sqlite: upsert: empty object name")
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: %w", object, err)
	}
	defer tx.Rollback()

	u, err := prepareUpsert(ctx, tx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: %w", object, err)
	}
	defer u.close()

	// One import is one moment in history, and one clock call.
	at := timestamp(db.now())
	// The driver watches a cancellable context with a goroutine per
	// statement, a large share of a big import's time; checking the context
	// once per record stops just as well.
	stmtCtx := context.WithoutCancel(ctx)
	for i, rec := range recs {
		if err := ctx.Err(); err != nil {
			return 0, 0, fmt.Errorf("sqlite: upsert %s: %w", object, err)
		}
		isNew, changed, err := u.upsert(stmtCtx, object, rec, source, at)
		if err != nil {
			if rec.ID == "" {
				return 0, 0, fmt.Errorf("sqlite: upsert %s: record %d: %w", object, i+1, err)
			}
			return 0, 0, fmt.Errorf("sqlite: upsert %s/%s: %w", object, rec.ID, err)
		}
		switch {
		case isNew:
			inserted++
		case changed:
			updated++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: %w", object, err)
	}
	return inserted, updated, nil
}

// upserter holds the statements an import runs once per record, prepared
// once per import: parsing SQL per row would dominate a large import.
type upserter struct {
	sel, ins, upd, hist *sql.Stmt
}

func prepareUpsert(ctx context.Context, tx *sql.Tx) (*upserter, error) {
	u := &upserter{}
	for _, s := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&u.sel, `SELECT fields FROM records WHERE object = ? AND id = ?`},
		{&u.ins, `INSERT INTO records (object, id, fields, merged_into, created_at, updated_at) VALUES (?, ?, ?, '', ?, ?)`},
		{&u.upd, `UPDATE records SET fields = ?, updated_at = ? WHERE object = ? AND id = ?`},
		// All of a record's history rows in one statement: a statement per
		// field was most of an import's cost.
		{&u.hist, `INSERT INTO history (object, record, field, old, new, source, at)
			SELECT ?, ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?, ?
			FROM json_each(?) ORDER BY key`},
	} {
		stmt, err := tx.PrepareContext(ctx, s.query)
		if err != nil {
			u.close()
			return nil, err
		}
		*s.dst = stmt
	}
	return u, nil
}

func (u *upserter) close() {
	for _, s := range []*sql.Stmt{u.sel, u.ins, u.upd, u.hist} {
		if s != nil {
			s.Close()
		}
	}
}

func (u *upserter) upsert(ctx context.Context, object string, rec crm.Record, source, at string) (isNew, changed bool, err error) {
	if rec.ID == "" {
		return false, false, errors.New("empty id")
	}
	names := make([]string, 0, len(rec.Fields))
	for name := range rec.Fields {
		if err := checkField(name); err != nil {
			return false, false, err
		}
		names = append(names, name)
	}
	sort.Strings(names) // history in a reproducible order

	var raw string
	err = u.sel.QueryRowContext(ctx, object, rec.ID).Scan(&raw)
	isNew = errors.Is(err, sql.ErrNoRows)
	if err != nil && !isNew {
		return false, false, err
	}
	fields := map[string]string{}
	if !isNew {
		if fields, err = decodeFields(raw); err != nil {
			return false, false, err
		}
	}
	var changes [][3]string // field, old, new
	for _, name := range names {
		old, value := fields[name], rec.Fields[name]
		if old == value {
			continue
		}
		changes = append(changes, [3]string{name, old, value})
		setField(fields, name, value)
	}
	if !isNew && len(changes) == 0 {
		return false, false, nil
	}
	encoded, err := encodeFields(fields)
	if err != nil {
		return false, false, err
	}
	if isNew {
		_, err = u.ins.ExecContext(ctx, object, rec.ID, encoded, at, at)
	} else {
		_, err = u.upd.ExecContext(ctx, encoded, at, object, rec.ID)
	}
	if err != nil {
		return false, false, err
	}
	if len(changes) > 0 {
		rows, err := json.Marshal(changes)
		if err != nil {
			return false, false, err
		}
		if _, err := u.hist.ExecContext(ctx, object, rec.ID, source, at, string(rows)); err != nil {
			return false, false, err
		}
	}
	return isNew, len(changes) > 0, nil
}

// Unmerge implements crm.Connector: the loser, which kept its own data when
// it was merged, becomes live again with its snapshot fields. Values the
// merge copied into the survivor stay there: the history shows which, and
// the revert's reason tells the reviewer to check them.
func (db *DB) Unmerge(ctx context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	results := make([]crm.Result, 0, len(reqs))
	for _, req := range reqs {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("sqlite: unmerge: %w", err)
		}
		res, err := db.unmerge(ctx, req)
		if err != nil {
			return results, fmt.Errorf("sqlite: unmerge %s/%s from %s: %w", req.Object, req.Loser, req.Survivor, err)
		}
		results = append(results, res)
	}
	return results, nil
}

func (db *DB) unmerge(ctx context.Context, req crm.MergeRequest) (crm.Result, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return crm.Result{}, err
	}
	defer tx.Rollback()
	loser, found, err := load(ctx, tx, req.Object, req.Loser)
	if err != nil {
		return crm.Result{}, err
	}
	switch {
	case !found:
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("record %s: %v", req.Loser, crm.ErrNotFound)}, nil
	case loser.mergedInto == "":
		// Already separate: a re-run after a crash.
		return crm.Result{Status: crm.AlreadyApplied}, nil
	case loser.mergedInto != req.Survivor:
		return crm.Result{Status: crm.Stale, Observed: loser.mergedInto,
			Error: fmt.Sprintf("record %s is merged into %s, not %s", req.Loser, loser.mergedInto, req.Survivor)}, nil
	}
	at := timestamp(db.now())
	var restored []string
	for field, value := range req.Snapshot {
		if field != "id" && field != "" && loser.fields[field] != value {
			restored = append(restored, field)
		}
	}
	sort.Strings(restored)
	old := map[string]string{}
	for _, field := range restored {
		old[field] = loser.fields[field]
		if req.Snapshot[field] == "" {
			delete(loser.fields, field)
		} else {
			loser.fields[field] = req.Snapshot[field]
		}
	}
	if len(restored) > 0 {
		if err := saveFields(ctx, tx, req.Object, req.Loser, loser.fields, at); err != nil {
			return crm.Result{}, err
		}
	}
	for _, field := range restored {
		if err := appendHistory(ctx, tx, req.Object, req.Loser, field, old[field], req.Snapshot[field], req.Source, at); err != nil {
			return crm.Result{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE records SET merged_into = '', updated_at = ? WHERE object = ? AND id = ?`,
		at, req.Object, req.Loser); err != nil {
		return crm.Result{}, err
	}
	if err := appendHistory(ctx, tx, req.Object, req.Loser, "merged_into", req.Survivor, "", req.Source, at); err != nil {
		return crm.Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return crm.Result{}, err
	}
	return crm.Result{Status: crm.Applied, Observed: req.Survivor}, nil
}
