package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/dedupe/evaluate"
	"github.com/crmops/crmops/internal/detect/progress"
	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/workflows"
	"github.com/crmops/crmops/internal/workspace"
)

func newDetectCmd(f *factory) *cobra.Command {
	var names []string
	var opts propose.Options
	var asJSON bool
	var truths []string
	var shardFlag string
	cmd := &cobra.Command{
		Use:   "detect [--detector NAME]... [--truth OBJECT=FILE]... [--shard I/N]",
		Short: "Run the configured detectors, propose what they find, merge the auto batches",
		Long: "Runs every detector configured under detectors: in crmops.yaml (or only those named),\n" +
			"and proposes their changes exactly as crmops propose does: records with open proposals and\n" +
			"changes rejected before are skipped, auto batches are merged unless --no-merge.\n\n" +
			"--truth OBJECT=FILE scores the merges each detector found among OBJECT's records against\n" +
			"labelled truth (a CSV with columns id and cluster): pairwise and cluster precision, recall\n" +
			"and F1, printed before the proposals. With --dry-run nothing is proposed.\n\n" +
			"--shard I/N runs part I of N (a CI matrix of N jobs, each in its own checkout): the\n" +
			"objects the detectors read, sorted, are dealt out round-robin, and a shard runs every\n" +
			"detector's work on its objects and proposes it. The shards together propose the same\n" +
			"batches one unsharded run would (docs/scale.md).",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			shard := detect.Shard{}
			if cmd.Flags().Changed("shard") {
				s, err := detect.ParseShard(shardFlag)
				if err != nil {
					return usageError{err}
				}
				shard = s
			}
			if !shard.Whole() && len(truths) > 0 {
				// A shard sees only its objects' merges: its scores would
				// count every merge of the others as missed.
				return usageError{errors.New("--truth scores a whole run's merges; leave out --shard")}
			}
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			if len(names) == 0 {
				names = configuredDetectors(ws)
			}
			if len(names) == 0 {
				fmt.Fprintln(f.out, "No detectors configured (detectors: in crmops.yaml); nothing to do.")
				return nil
			}
			scorer, err := readTruths(truths)
			if err != nil {
				return err
			}
			res, rows, err := runShard(ctx, f, ws, names, shard, opts, scorer.score(f))
			if err != nil {
				return err
			}
			writeStepSummary(f, rows, opts.DryRun)
			return printProposals(f, res, asJSON)
		},
	}
	cmd.Flags().StringArrayVar(&names, "detector", nil, "run only this detector (repeatable)")
	cmd.Flags().BoolVar(&opts.NoMerge, "no-merge", false, "leave auto batches open instead of merging them")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show the batches without proposing them")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	cmd.Flags().StringVar(&shardFlag, "shard", "", "run part I of N of the detection (1/2, 2/2: a CI matrix); see docs/scale.md")
	cmd.Flags().StringArrayVar(&truths, "truth", nil, "score the merges found among OBJECT's records against FILE (id,cluster CSV); repeatable")
	return cmd
}

// truthScorer scores detected merges against labelled truth, per object.
type truthScorer map[string]evaluate.Truth

func readTruths(specs []string) (truthScorer, error) {
	ts := truthScorer{}
	for _, spec := range specs {
		object, file, ok := strings.Cut(spec, "=")
		if !ok || !batch.ValidObject(object) || file == "" {
			return nil, fmt.Errorf("--truth %q: want OBJECT=FILE, e.g. contacts=truth.csv", spec)
		}
		if _, dup := ts[object]; dup {
			return nil, fmt.Errorf("--truth: %s is given twice", object)
		}
		r, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--truth: %w", err)
		}
		t, err := evaluate.ReadTruth(file, r)
		r.Close()
		if err != nil {
			return nil, err
		}
		ts[object] = t
	}
	return ts, nil
}

// score returns the hook runDetectors calls with each detector's changes,
// or nil when there is no truth to score against.
func (ts truthScorer) score(f *factory) func(detector string, changes []batch.Change) error {
	if len(ts) == 0 {
		return nil
	}
	return func(detector string, changes []batch.Change) error {
		objects := make([]string, 0, len(ts))
		for o := range ts {
			objects = append(objects, o)
		}
		sort.Strings(objects)
		for _, object := range objects {
			var merges []evaluate.Merge
			for _, c := range changes {
				if c.Op == batch.OpMerge && c.Object == object {
					merges = append(merges, evaluate.Merge{Survivor: c.Record, Loser: c.MergeFrom})
				}
			}
			s, err := evaluate.Score(ts[object], merges)
			if err != nil {
				return fmt.Errorf("--truth %s: %w", object, err)
			}
			fmt.Fprintf(f.out, "%s on %s: %d merges; %s\n", detector, object, len(merges), s)
		}
		return nil
	}
}

// runDetectors runs the named detectors against the workspace's CRM and
// proposes what each finds; quickstart runs the same code. found, when set,
// sees each detector's changes before they are proposed.
func runDetectors(ctx context.Context, f *factory, ws *workspace.Workspace, names []string, opts propose.Options, found func(detector string, changes []batch.Change) error) (*propose.Result, []summaryRow, error) {
	return runShard(ctx, f, ws, names, detect.Shard{}, opts, found)
}

// runShard is runDetectors for one shard of a run: the detectors' work on
// the objects the shard owns (see detect.Shard). Each detector's work on
// each object is proposed on its own, sharded or not, so that batches
// never mix objects and one shard plans the very batches an unsharded run
// plans for its objects.
func runShard(ctx context.Context, f *factory, ws *workspace.Workspace, names []string, shard detect.Shard, opts propose.Options, found func(detector string, changes []batch.Change) error) (*propose.Result, []summaryRow, error) {
	built := map[string]detect.Detector{}
	for _, name := range names {
		node, ok := ws.Config.Detectors[name]
		if !ok {
			return nil, nil, fmt.Errorf("%s: detector %q is not configured under detectors:", config.File, name)
		}
		// Every detector is built whole first, so a mistake in its
		// settings is reported as written, whichever shard runs it.
		d, err := f.detector(config.File, name, &node)
		if err != nil {
			return nil, nil, err
		}
		built[name] = d
	}
	plan := detect.Plan(names, func(name string) *yaml.Node { n := ws.Config.Detectors[name]; return &n }, shard)
	if !shard.Whole() {
		owned := strings.Join(plan.Owned, ", ")
		if owned == "" {
			owned = "no object"
		}
		fmt.Fprintf(f.err, "crmops detect: shard %s owns %s (of %s)\n", shard, owned, strings.Join(plan.Objects, ", "))
	}
	fg, err := f.forgeOf(ws)
	if err != nil {
		return nil, nil, err
	}
	c, err := f.connector(ws)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	reporter := progress.New(f.err, f.terminal(), f.now)
	res := &propose.Result{}
	var rows []summaryRow
	for _, name := range names {
		var units []detect.Unit
		for _, u := range plan.Units {
			if u.Detector == name {
				units = append(units, u)
			}
		}
		if len(units) == 0 {
			continue
		}
		detected := &detect.Result{}
		perUnit := make([][]batch.Change, len(units))
		for i, u := range units {
			d := built[name]
			if u.Narrowed {
				if d, err = f.detector(config.File, name, u.Settings); err != nil {
					return nil, nil, fmt.Errorf("detect %s on %s: %w", name, u.Object, err)
				}
			}
			r, err := d.Detect(ctx, detect.Env{CRM: c, Dir: ws.Dir, Progress: reporter})
			if err != nil {
				reporter.Stop()
				return nil, nil, fmt.Errorf("detect %s: %w", name, err)
			}
			reporter.Done()
			perUnit[i] = r.Changes
			detected.Changes = append(detected.Changes, r.Changes...)
			detected.Skipped = append(detected.Skipped, r.Skipped...)
		}
		reportProblems(f, name, detected)
		if err := validateDetected(name, detected.Changes); err != nil {
			return nil, nil, err
		}
		if found != nil {
			if err := found(name, detected.Changes); err != nil {
				return nil, nil, err
			}
		}
		runs := &propose.Result{}
		for _, changes := range perUnit {
			run, err := f.proposer(ws, fg, "").Run(ctx, name, changes, opts)
			if err != nil {
				return nil, nil, err
			}
			runs.Plan.Skipped = append(runs.Plan.Skipped, run.Plan.Skipped...)
			runs.Plan.Denied = append(runs.Plan.Denied, run.Plan.Denied...)
			runs.Outcomes = append(runs.Outcomes, run.Outcomes...)
		}
		res.Plan.Skipped = append(res.Plan.Skipped, runs.Plan.Skipped...)
		res.Plan.Denied = append(res.Plan.Denied, runs.Plan.Denied...)
		res.Outcomes = append(res.Outcomes, runs.Outcomes...)
		rows = append(rows, summaryRow{name, len(detected.Changes), len(detected.Skipped), runs})
	}
	return res, rows, nil
}

// configuredDetectors lists the detectors crmops.yaml configures, sorted.
func configuredDetectors(ws *workspace.Workspace) []string {
	var names []string
	for name := range ws.Config.Detectors {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// reportProblems prints the input rows a detector skipped: a summary line,
// then the first few with file and line.
func reportProblems(f *factory, name string, r *detect.Result) {
	r.Summary(f.err, name)
	const shown = 20
	for i, p := range r.Skipped {
		if i == shown {
			fmt.Fprintf(f.err, "  ... and %d more\n", len(r.Skipped)-shown)
			break
		}
		fmt.Fprintf(f.err, "  %s\n", p)
	}
}

// validateDetected holds detectors to the batch format: a detector that
// emits an invalid change has a bug, and nothing of its run is proposed.
func validateDetected(name string, changes []batch.Change) error {
	for i := range changes {
		c := changes[i]
		c.ID = "c1"
		if err := c.Validate("detector " + name); err != nil {
			return fmt.Errorf("detector %s emitted an invalid change (a bug; nothing proposed): %w", name, err)
		}
	}
	return nil
}

type summaryRow struct {
	detector       string
	found, skipped int
	run            *propose.Result
}

// writeStepSummary appends a Markdown report to $GITHUB_STEP_SUMMARY, the
// file GitHub Actions shows on the run's page: the totals once, then per
// detector what it found and what of it was proposed, then the batches.
// A summary that cannot be written is a warning: the proposals stand.
func writeStepSummary(f *factory, rows []summaryRow, dryRun bool) {
	path := f.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return
	}
	runs := make([]workflows.DetectorRun, len(rows))
	for i, r := range rows {
		runs[i] = workflows.DetectorRun{Detector: r.detector, Found: r.found, Skipped: r.skipped,
			NotProposed: len(r.run.Plan.Skipped), Denied: len(r.run.Plan.Denied)}
		for _, o := range r.run.Outcomes {
			runs[i].Batches = append(runs[i].Batches, workflows.ProposedBatch{Batch: o.Batch, Decision: o.Decision, State: o.State,
				Changes: o.Changes, PullRequest: o.PullRequest, URL: o.URL})
		}
	}
	if err := workflows.AppendSummary(path, workflows.DetectSummary(runs, dryRun)+"\n"); err != nil {
		fmt.Fprintln(f.err, "crmops: warning: "+err.Error())
	}
}
