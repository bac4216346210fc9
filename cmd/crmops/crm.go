package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/csvio"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/detect/progress"
	"github.com/crmops/crmops/internal/seed"
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
			"The standard objects (" + strings.Join(crm.StandardObjects, ", ") + ") and any object the CRM has\n" +
			"records of can be imported into; any other needs --new-object.",
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			object, file := a[0], a[1]
			if err := crm.CheckObjectName(object); err != nil {
				return fmt.Errorf("import: %w", err)
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
				have, err := db.Objects(cmd.Context())
				if err != nil {
					return err
				}
				if err := crm.CheckImportTarget(object, have); err != nil {
					return fmt.Errorf("import: %w", err)
				}
			}
			in, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer in.Close()
			// The whole file is read before anything is written: a bad row
			// must leave the CRM untouched. The object settles HubSpot's
			// ambiguous labels ("Company name").
			recs, repeated, err := csvio.ReadAll(in, file, csvio.ReadOptions{Object: object, AllowRepeatedIDs: lastWins})
			if err != nil {
				return err
			}
			ins, upd, err := db.Upsert(cmd.Context(), object, recs, "import:"+file)
			if err != nil {
				return fmt.Errorf("import %s: %w", file, err)
			}
			fmt.Fprintf(f.out, "%s: %d records read, %d inserted, %d updated", object, len(recs), ins, upd)
			if repeated > 0 {
				what := "rows"
				if repeated == 1 {
					what = "row"
				}
				fmt.Fprintf(f.out, " (%d %s repeated an earlier id; the later values won)", repeated, what)
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
			x, err := db.Export(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			defer x.Close()
			if len(a) == 1 {
				return x.WriteCSV(f.out)
			}
			// The file is created only once the records are read, so a
			// failed read leaves no half-written file behind.
			file, err := os.Create(a[1])
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			return errors.Join(x.WriteCSV(file), file.Close())
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
			// A large seed takes a while (200,000 contacts: some 15 s):
			// a bar on a terminal, a line every 10 s in a log.
			reporter := progress.New(f.err, f.terminal(), f.now)
			opts.Progress = func(object string, done, total int) { reporter.Step("seed: writing "+object, done, total) }
			tr, err := seed.Generate(cmd.Context(), opts, seed.SinkFunc(func(ctx context.Context, obj string, recs []crm.Record) error {
				_, _, err := db.Upsert(ctx, obj, recs, "seed")
				return err
			}))
			if err != nil {
				reporter.Stop()
				return err
			}
			reporter.Done()
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
