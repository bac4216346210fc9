package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/csvio"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/seed"
	"github.com/crmops/crmops/internal/strictyaml"
)

func newCRMCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "crm", Short: "Read and load the embedded CRM"}
	cmd.AddCommand(newCRMImportCmd(f), newCRMGetCmd(f), newCRMExportCmd(f), newCRMSeedCmd(f))
	return cmd
}

func newCRMImportCmd(f *factory) *cobra.Command {
	var lastWins, newObject bool
	cmd := &cobra.Command{
		Use:   "import OBJECT FILE.csv",
		Short: `Upsert records from a CSV file (header = field names, "id" required)`,
		Long: "Upserts every row of FILE.csv into OBJECT, all or nothing: the whole file is read and\n" +
			"checked before anything is written, and the records are written in one transaction.\n" +
			"A crmops CSV (an \"id\" column, field names as headers) and a HubSpot export (\"Record ID\",\n" +
			"property labels) are both read. An id on two rows is an error unless --last-wins is given.\n" +
			"The standard objects (" + strings.Join(standardObjects, ", ") + ") and any object the CRM has\n" +
			"records of can be imported into; any other needs --new-object.",
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			object, file := a[0], a[1]
			if err := checkObjectName(object); err != nil {
				return err
			}
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			db, err := f.sqlite(ws)
			if err != nil {
				return err
			}
			defer db.Close()
			if !newObject {
				if err := checkObjectKnown(cmd.Context(), db, object); err != nil {
					return err
				}
			}
			in, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer in.Close()
			// Read the whole file before writing anything: a bad row must
			// leave the CRM untouched.
			var recs []crm.Record
			rows := 0
			index := map[string]int{} // id -> position in recs, for --last-wins
			// ReadWith tells crmops' CSV from a HubSpot export by its header;
			// the object settles HubSpot's ambiguous labels ("Company name").
			opts := csvio.ReadOptions{Object: object, AllowRepeatedIDs: lastWins}
			err = csvio.ReadWith(in, file, opts, func(_ int, r crm.Record) error {
				rows++
				if i, seen := index[r.ID]; seen {
					// Later rows overwrite the values they have; their empty
					// cells leave earlier values alone, as upserting each row
					// in turn would.
					for k, v := range r.Fields {
						recs[i].Fields[k] = v
					}
					return nil
				}
				if lastWins {
					index[r.ID] = len(recs)
				}
				recs = append(recs, r)
				return nil
			})
			if err != nil {
				return err
			}
			ins, upd, err := db.Upsert(cmd.Context(), object, recs, "import:"+file)
			if err != nil {
				return fmt.Errorf("import %s: %w", file, err)
			}
			fmt.Fprintf(f.out, "%s: %d records read, %d inserted, %d updated", object, len(recs), ins, upd)
			if n := rows - len(recs); n > 0 {
				what := "rows"
				if n == 1 {
					what = "row"
				}
				fmt.Fprintf(f.out, " (%d %s repeated an earlier id; the later values won)", n, what)
			}
			fmt.Fprintln(f.out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&lastWins, "last-wins", false,
		"let an id repeat: its rows are applied in file order, later non-empty cells overwriting earlier ones (default: a repeated id is an error and nothing is imported)")
	cmd.Flags().BoolVar(&newObject, "new-object", false,
		"allow importing into an object the CRM has no records of yet and is not a standard object, creating it")
	return cmd
}

// standardObjects exist in the embedded CRM from the start, as in HubSpot:
// the first import into them needs no --new-object.
var standardObjects = []string{"companies", "contacts", "deals"}

// checkObjectName refuses an object name that no batch could ever change,
// by the batch format's own rule: a change naming it fails validation.
func checkObjectName(object string) error {
	probe := batch.Change{ID: "import", Kind: "custom", Object: object, Record: "import", Source: "import",
		Op: batch.OpSet, Field: "import", After: "import"}
	err := probe.Validate("")
	if err == nil {
		return nil
	}
	var se *strictyaml.Error
	if !errors.As(err, &se) || se.Key != "object" {
		// Only the object varies, so this is a bug here, not bad input.
		return fmt.Errorf("import: checking object name %q: %s", object, strings.TrimPrefix(err.Error(), ": "))
	}
	msg := "import: object " + se.Msg // `"Contacts" is not a valid object name (...)`
	if s := suggestObject(object, standardObjects); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return errors.New(msg)
}

// checkObjectKnown refuses to create an object by accident: object must be
// standard or already have records.
func checkObjectKnown(ctx context.Context, db *sqlite.DB, object string) error {
	have, err := db.Objects(ctx)
	if err != nil {
		return err
	}
	known := append([]string(nil), standardObjects...)
	for _, o := range have {
		if !slices.Contains(known, o) {
			known = append(known, o)
		}
	}
	sort.Strings(known)
	if slices.Contains(known, object) {
		return nil
	}
	msg := fmt.Sprintf("import: the CRM has no object %q (it has %s)", object, strings.Join(known, ", "))
	if s := suggestObject(object, known); s != "" {
		return fmt.Errorf("%s; did you mean %q? To create %q, run again with --new-object", msg, s, object)
	}
	return errors.New(msg + "; to create it, run again with --new-object")
}

// suggestObject returns the known object name closest to object when it is
// a near miss: another case, a singular, a separator or a typo or two away.
func suggestObject(object string, known []string) string {
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
	best, bestDist := "", -1
	for _, k := range known {
		if k == object {
			continue
		}
		d := editDistance(want, stem(k))
		limit := 1
		if len(want) >= 5 {
			limit = 2
		}
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func splitRef(ref string) (object, id string, err error) {
	object, id, ok := strings.Cut(ref, "/")
	if !ok || object == "" || id == "" {
		return "", "", usageError{fmt.Errorf("%q: want OBJECT/ID, e.g. contacts/1001", ref)}
	}
	return object, id, nil
}

func newCRMGetCmd(f *factory) *cobra.Command {
	var asJSON, history bool
	cmd := &cobra.Command{
		Use:   "get OBJECT/ID",
		Short: "Print one record (--history: the CRM's own change history of it)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			object, id, err := splitRef(a[0])
			if err != nil {
				return err
			}
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			c, err := f.connector(ws)
			if err != nil {
				return err
			}
			defer c.Close()
			recs, err := c.Get(cmd.Context(), object, []string{id}, nil)
			if err != nil {
				return err
			}
			rec, ok := recs[id]
			if !ok {
				return fmt.Errorf("%s/%s: %w", object, id, crm.ErrNotFound)
			}
			if history {
				// Only the embedded CRM keeps a history crmops can read.
				db, ok := c.(*sqlite.DB)
				if !ok {
					return fmt.Errorf("--history works on the embedded CRM; see the record's history in %s itself", ws.Config.CRM.Kind)
				}
				entries, err := db.History(cmd.Context(), object, id)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(f, entries)
				}
				for _, e := range entries {
					fmt.Fprintf(f.out, "%s  %-16s %q -> %q  (%s)\n", e.At.UTC().Format("2006-01-02T15:04:05Z"), e.Field, e.Old, e.New, e.Source)
				}
				return nil
			}
			out := map[string]string{"id": rec.ID}
			for k, v := range rec.Fields {
				out[k] = v
			}
			if rec.MergedInto != "" {
				out["merged_into"] = rec.MergedInto
			}
			if asJSON {
				return writeJSON(f, out)
			}
			keys := make([]string, 0, len(out))
			for k := range out {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(f.out, "%-16s %s\n", k, out[k])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	cmd.Flags().BoolVar(&history, "history", false, "the record's property history")
	return cmd
}

func newCRMExportCmd(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "export OBJECT [FILE]",
		Short: "Write an object's live records as CSV (to FILE or stdout)",
		Args:  args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			db, err := f.sqlite(ws)
			if err != nil {
				return err
			}
			defer db.Close()
			object := a[0]
			// Two passes keep memory flat: one for the header, one to write.
			seen := map[string]bool{}
			err = db.List(cmd.Context(), object, nil, func(r crm.Record) error {
				for k := range r.Fields {
					seen[k] = true
				}
				return nil
			})
			if err != nil {
				return err
			}
			fields := make([]string, 0, len(seen))
			for k := range seen {
				fields = append(fields, k)
			}
			sort.Strings(fields)
			var w io.Writer = f.out
			var file *os.File
			if len(a) == 2 {
				if file, err = os.Create(a[1]); err != nil {
					return fmt.Errorf("export: %w", err)
				}
				w = file
			}
			cw := csvio.NewWriter(w, fields)
			err = db.List(cmd.Context(), object, nil, cw.Write)
			err = errors.Join(err, cw.Flush())
			if file != nil {
				err = errors.Join(err, file.Close())
			}
			return err
		},
	}
}

func newCRMSeedCmd(f *factory) *cobra.Command {
	var opts seed.Options
	var truth string
	cmd := &cobra.Command{
		Use:   "seed [--contacts N] [--companies M] [--seed S] [--truth FILE]",
		Short: "Fill the embedded CRM with a realistic generated CRM, with planted flaws of every scenario",
		Long: "Generates contacts and companies (names, domains, phones in many formats, lifecycle stages,\n" +
			"owners) with planted duplicates (case, nickname and typo variants), missing fields and stale\n" +
			"owners, and writes the planted duplicate groups to --truth (CSV: object,group,id).",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			db, err := f.sqlite(ws)
			if err != nil {
				return err
			}
			defer db.Close()
			tr, err := seed.Generate(cmd.Context(), opts, seed.SinkFunc(func(ctx context.Context, obj string, recs []crm.Record) error {
				_, _, err := db.Upsert(ctx, obj, recs, "seed")
				return err
			}))
			if err != nil {
				return err
			}
			if truth != "" {
				out, err := os.Create(truth)
				if err != nil {
					return fmt.Errorf("seed: %w", err)
				}
				if err := errors.Join(tr.WriteTruth(out), out.Close()); err != nil {
					return fmt.Errorf("seed: %w", err)
				}
			}
			fmt.Fprintf(f.out, "Seeded %d contacts and %d companies with %d planted duplicate groups.\n",
				opts.Contacts, opts.Companies, len(tr.Groups))
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Contacts, "contacts", 10000, "contacts to generate")
	cmd.Flags().IntVar(&opts.Companies, "companies", 500, "companies to generate")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "seed: the same seed generates the same CRM")
	cmd.Flags().StringVar(&truth, "truth", "", "write the planted duplicate groups to this CSV file")
	return cmd
}
