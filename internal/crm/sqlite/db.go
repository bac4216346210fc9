// Package sqlite is the embedded CRM: records and their property history in
// one SQLite file, so crmops works end to end without an account anywhere.
// It implements crm.Connector on the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/crm"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

var _ crm.Connector = (*DB)(nil)

// schemaVersion is stored in PRAGMA user_version so that a file written by a
// newer crmops with a different layout is refused instead of misread.
const schemaVersion = 1

// busyTimeout is how long a write waits for another process (an apply running
// beside an import, say) to release the database before giving up.
const busyTimeout = 10 * time.Second

// listPage is how many records List reads per query. Paging by id keeps
// memory flat for millions of records and holds no read transaction open
// while the caller's function runs, so that function may write to the CRM.
const listPage = 1000

const schema = `
CREATE TABLE IF NOT EXISTS records (
	object      TEXT NOT NULL,
	id          TEXT NOT NULL,
	fields      TEXT NOT NULL DEFAULT '{}',
	merged_into TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	PRIMARY KEY (object, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	object TEXT NOT NULL,
	record TEXT NOT NULL,
	field  TEXT NOT NULL,
	old    TEXT NOT NULL,
	new    TEXT NOT NULL,
	source TEXT NOT NULL,
	at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_record ON history (object, record, seq);
`

// Options configures Open.
type Options struct {
	// Now stamps history rows and records; nil means time.Now. Tests pass a
	// fixed clock so that history is reproducible.
	Now func() time.Time
}

// DB is an embedded CRM stored in one SQLite file. It is safe for concurrent
// use, and several processes may open the same file.
type DB struct {
	sql *sql.DB
	now func() time.Time
}

// Open opens the CRM database at path, creating the file, its parent
// directories and the schema when they do not exist yet.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	dsn, err := dataSourceName(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection serialises this process's writers in the pool instead of
	// in SQLite's lock, so they never meet SQLITE_BUSY among themselves; other
	// processes are handled by the busy timeout.
	sdb.SetMaxOpenConns(1)
	db := &DB{sql: sdb, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	if err := db.migrate(context.Background()); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dataSourceName builds a file: URI so that any character in the path
// ('?' or '#' included) reaches SQLite intact.
func dataSourceName(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:///C:/...
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	// IMMEDIATE takes the write lock when the transaction starts, so a
	// compare-and-swap's read and write cannot interleave with another
	// process's; a deferred transaction would fail its upgrade with
	// SQLITE_BUSY instead of waiting.
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String(), nil
}

func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("database schema version %d is newer than this crmops supports (%d); upgrade crmops", version, schemaVersion)
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}

// Close releases the database file.
func (db *DB) Close() error {
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// timestamp formats t the way every time column stores it: sortable text.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func decodeFields(s string) (map[string]string, error) {
	return newFieldsDecoder(nil).decode([]byte(s))
}

func encodeFields(fields map[string]string) (string, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("encode fields: %w", err)
	}
	return string(b), nil
}

// checkField refuses field names the CRM cannot store as ordinary fields:
// the id lives in its own column and would shadow it on export.
func checkField(field string) error {
	switch field {
	case "":
		return errors.New("empty field name")
	case "id":
		return errors.New(`field "id" is the record id and cannot be written as a field`)
	}
	return nil
}
