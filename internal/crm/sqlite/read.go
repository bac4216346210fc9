package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crmops/crmops/internal/crm"
)

// Get reads records by id in one query. Ids that do not exist are absent from
// the map; merged records are returned with MergedInto set so that callers
// see the merge rather than a missing record. fields nil means all fields.
func (db *DB) Get(ctx context.Context, object string, ids []string, fields []string) (map[string]crm.Record, error) {
	out := make(map[string]crm.Record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// One JSON parameter instead of one placeholder per id: no limit on the
	// batch size from SQLite's maximum number of variables.
	idList, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s: %w", object, err)
	}
	rows, err := db.sql.QueryContext(ctx,
		`SELECT id, fields, merged_into FROM records
		 WHERE object = ? AND id IN (SELECT value FROM json_each(?))`,
		object, string(idList))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s: %w", object, err)
	}
	defer rows.Close()
	dec := newFieldsDecoder(fields)
	for rows.Next() {
		var id, mergedInto string
		var raw sql.RawBytes
		if err := rows.Scan(&id, &raw, &mergedInto); err != nil {
			return nil, fmt.Errorf("sqlite: get %s: %w", object, err)
		}
		got, err := dec.decode(raw)
		if err != nil {
			return nil, fmt.Errorf("sqlite: get %s/%s: %w", object, id, err)
		}
		out[id] = crm.Record{ID: id, Fields: got, MergedInto: mergedInto}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: get %s: %w", object, err)
	}
	return out, nil
}

// List calls fn for every live (not merged) record of object in id order
// (byte order of the id strings, so "10" sorts before "9"). It reads a page
// at a time, so memory does not grow with the number of records, and fn may
// read or write the CRM. Writes fn makes to records not yet reached are seen.
// An error from fn stops the listing and is returned unchanged.
func (db *DB) List(ctx context.Context, object string, fields []string, fn func(crm.Record) error) error {
	after := ""
	// One decoder for the whole listing: each record's JSON is read once,
	// straight into the wanted fields, with field names shared.
	dec := newFieldsDecoder(fields)
	for {
		page, err := db.listPage(ctx, object, after, dec)
		if err != nil {
			return fmt.Errorf("sqlite: list %s: %w", object, err)
		}
		for _, rec := range page {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(page) < listPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (db *DB) listPage(ctx context.Context, object, after string, dec *fieldsDecoder) ([]crm.Record, error) {
	rows, err := db.sql.QueryContext(ctx,
		`SELECT id, fields FROM records
		 WHERE object = ? AND id > ? AND merged_into = ''
		 ORDER BY id LIMIT ?`,
		object, after, listPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]crm.Record, 0, listPage)
	for rows.Next() {
		var id string
		var raw sql.RawBytes
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		fields, err := dec.decode(raw)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		page = append(page, crm.Record{ID: id, Fields: fields})
	}
	return page, rows.Err()
}

// History returns the CRM's own record of every change to the fields of
// object/id, oldest first. A merge appears on the loser as field
// "merged_into" and on the survivor as the fields it filled.
func (db *DB) History(ctx context.Context, object, id string) ([]crm.HistoryEntry, error) {
	rows, err := db.sql.QueryContext(ctx,
		`SELECT field, old, new, source, at FROM history
		 WHERE object = ? AND record = ? ORDER BY seq`,
		object, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: history %s/%s: %w", object, id, err)
	}
	defer rows.Close()
	var out []crm.HistoryEntry
	for rows.Next() {
		e := crm.HistoryEntry{Object: object, Record: id}
		var at string
		if err := rows.Scan(&e.Field, &e.Old, &e.New, &e.Source, &at); err != nil {
			return nil, fmt.Errorf("sqlite: history %s/%s: %w", object, id, err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("sqlite: history %s/%s: bad time %q: %w", object, id, at, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: history %s/%s: %w", object, id, err)
	}
	return out, nil
}

// Objects returns the names of the objects that have at least one record,
// merged or not, sorted.
func (db *DB) Objects(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT DISTINCT object FROM records ORDER BY object`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: objects: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlite: objects: %w", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: objects: %w", err)
	}
	return out, nil
}

// Count returns the number of live (not merged) records of object: the
// number List would visit.
func (db *DB) Count(ctx context.Context, object string) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx,
		`SELECT count(*) FROM records WHERE object = ? AND merged_into = ''`, object).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count %s: %w", object, err)
	}
	return n, nil
}
