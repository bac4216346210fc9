package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
	"github.com/crmops/crmops/internal/simulate"
	"github.com/crmops/crmops/internal/workflows"
	"github.com/crmops/crmops/internal/workspace"
)

func newPolicyCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Explain, test and simulate the policy"}
	cmd.AddCommand(newPolicyExplainCmd(f), newPolicyTestCmd(f), newPolicySimulateCmd(f))
	return cmd
}

// quoted prints what fn writes between stop- and resume-commands lines in
// GitHub Actions: the output quotes repository files, which a pull request
// may have crafted to look like workflow commands.
func (f *factory) quoted(fn func(w io.Writer)) {
	if !workflows.InActions(f.getenv) {
		fn(f.out)
		return
	}
	token := workflows.NewToken()
	fmt.Fprintln(f.out, workflows.StopCommands(token))
	fn(f.out)
	fmt.Fprintln(f.out, workflows.ResumeCommands(token))
}

// ---- policy explain

type policyExplainOptions struct {
	targets    []string
	policyFile string
	asJSON     bool
	// proposer and fromFork are who to explain the batches as proposed by.
	proposer string
	fromFork bool
}

func newPolicyExplainCmd(f *factory) *cobra.Command {
	var o policyExplainOptions
	cmd := &cobra.Command{
		Use:   "explain BATCH|FILE...",
		Short: "For each change of a batch, the rule that decided it and why every earlier rule did not match",
		Long: "explain shows, for each change of a batch, the rule that decided it and why each earlier rule\n" +
			"did not match; every other kind the change was judged as because it writes that kind's field\n" +
			"(fields: in the policy), with the rule that matched it as that kind or the default; the built-in\n" +
			"guard that overrode the rules, and why (a merge or owner field never auto, a kind writing\n" +
			"another kind's field refused, an untrusted proposer, a freeze); and what held the batch as a\n" +
			"whole (a limit, its review key, a freeze).\n\n" +
			"The batch is explained as proposed by --proposer LOGIN (the forge's login; --from-fork for a\n" +
			"pull request from a fork), or else by an unknown proposer, whom a policy whose auto rules name\n" +
			"proposers does not trust.\n\n" +
			"BATCH is a batch id, looked up under proposals/ in the checkout, then on its proposal\n" +
			"branch crmops/BATCH as last fetched; FILE is a batch file's path. The policy is the base\n" +
			"branch's, as crmops check uses it, unless --policy names a file.",
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.targets = a
			return runPolicyExplain(f, o)
		},
	}
	cmd.Flags().StringVar(&o.policyFile, "policy", "", "explain under this policy file instead of the base branch's")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "machine output")
	cmd.Flags().StringVar(&o.proposer, "proposer", "", "explain as proposed by this login, as the forge knows it (default: an unknown proposer)")
	cmd.Flags().BoolVar(&o.fromFork, "from-fork", false, "explain as proposed from a fork (never trusted)")
	return cmd
}

// explainJSON is one batch of explain --json.
type explainJSON struct {
	File           string              `json:"file"`
	Batch          string              `json:"batch"`
	Policy         string              `json:"policy"`
	Decision       string              `json:"decision"`
	Rules          []string            `json:"rules"`
	Approvals      int                 `json:"approvals"`
	Review         string              `json:"review"`
	ReviewOverrode bool                `json:"review_overrode"`
	Changes        []explainChangeJSON `json:"changes"`
	// Proposer is who the batch was explained as proposed by.
	Proposer explainProposerJSON `json:"proposer"`
	// Frozen: the policy says freeze: true.
	Frozen bool `json:"frozen"`
	// Why says why the batch as a whole needs review when a limit or its
	// review key held it; "" otherwise.
	Why string `json:"why"`
}

type explainProposerJSON struct {
	// Login is "" for an unknown proposer.
	Login    string `json:"login"`
	FromFork bool   `json:"from_fork"`
	// Trusted: the policy lets this proposer's changes be auto.
	Trusted bool `json:"trusted"`
	// NamedByRules: the policy's auto rules name the proposers they trust.
	NamedByRules bool `json:"named_by_rules"`
}

type explainChangeJSON struct {
	Change     string            `json:"change"`
	Kind       string            `json:"kind"`
	Target     string            `json:"target"`
	Op         string            `json:"op"`
	Before     string            `json:"before"`
	After      string            `json:"after"`
	Source     string            `json:"source"`
	Confidence float64           `json:"confidence"`
	Trigger    string            `json:"trigger"`
	Decision   string            `json:"decision"`
	Rule       string            `json:"rule"`
	Matched    *explainRuleJSON  `json:"matched"`
	Skipped    []explainSkipJSON `json:"skipped"`
	Override   string            `json:"override"`
	Reason     string            `json:"override_reason"`
	// Field is the field the change writes ("" for a merge).
	Field string `json:"field"`
	// Decided is what the rules for the change's own kind said.
	Decided string `json:"decided"`
	// AsKinds are the other kinds the change was judged as.
	AsKinds []explainKindJSON `json:"as_kinds"`
	// Why says in words why a guard, or another kind's stricter rule,
	// decided; "" when the change's own rules did.
	Why string `json:"why"`
}

// explainKindJSON is how the rules decided a change judged as one kind.
type explainKindJSON struct {
	Kind     string            `json:"kind"`
	Decision string            `json:"decision"`
	Matched  *explainRuleJSON  `json:"matched"`
	Skipped  []explainSkipJSON `json:"skipped"`
}

type explainRuleJSON struct {
	Rule     string `json:"rule"`
	Line     int    `json:"line"`
	Decision string `json:"decision"`
}

type explainSkipJSON struct {
	Rule   string `json:"rule"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func runPolicyExplain(f *factory, o policyExplainOptions) error {
	ws, err := f.workspace()
	if err != nil {
		return err
	}
	pol, label, err := basePolicy(ws, o.policyFile, f.getenv("GITHUB_BASE_REF"))
	if err != nil {
		return err
	}
	by := policy.Proposer{Login: strings.TrimSpace(o.proposer), Outside: o.fromFork}
	var out []explainJSON
	for _, target := range o.targets {
		name, data, err := lookupBatch(ws, target)
		if err != nil {
			return err
		}
		b, err := batch.Decode(name, data)
		if err != nil {
			return err
		}
		be := pol.ExplainBatch(b, by)
		x := explainOf(name, label, b, be)
		x.Proposer = explainProposerJSON{Login: by.Login, FromFork: by.Outside, Trusted: pol.Trusts(by), NamedByRules: !pol.Trusts(policy.Proposer{})}
		out = append(out, x)
	}
	if o.asJSON {
		return writeJSON(f, out)
	}
	f.quoted(func(w io.Writer) {
		for i, x := range out {
			if i > 0 {
				fmt.Fprintln(w)
			}
			printExplanation(w, x)
		}
	})
	return nil
}

func explainOf(file, label string, b *batch.Batch, be policy.BatchExplanation) explainJSON {
	x := explainJSON{File: file, Batch: b.ID, Policy: label, Decision: string(be.Verdict.Decision), Rules: be.Verdict.Rules,
		Approvals: be.Verdict.Approvals, Review: be.Review, ReviewOverrode: be.ReviewOverrode,
		Frozen: be.Verdict.Frozen, Why: be.Verdict.Why}
	for i, c := range b.Changes {
		e := be.Changes[i]
		cj := explainChangeJSON{Change: c.ID, Kind: c.Kind, Target: c.Target(), Op: c.Op, Before: c.Before, After: c.After,
			Source: c.Source, Confidence: c.Confidence, Trigger: c.Trigger, Decision: string(e.Verdict.Decision),
			Rule: e.Verdict.Rule, Matched: ruleJSON(e.Matched, e.Decided), Skipped: skipsJSON(e.Skipped), Override: e.Override, Reason: e.OverrideReason(),
			Field: c.Field, Decided: string(e.Decided), AsKinds: []explainKindJSON{}, Why: e.Verdict.Why}
		for _, k := range e.AsKinds {
			cj.AsKinds = append(cj.AsKinds, explainKindJSON{Kind: k.Kind, Decision: string(k.Decided), Matched: ruleJSON(k.Matched, k.Decided), Skipped: skipsJSON(k.Skipped)})
		}
		x.Changes = append(x.Changes, cj)
	}
	if x.Rules == nil {
		x.Rules = []string{}
	}
	return x
}

func ruleJSON(r *policy.RuleRef, d policy.Decision) *explainRuleJSON {
	if r == nil {
		return nil
	}
	return &explainRuleJSON{Rule: r.Name, Line: r.Line, Decision: string(d)}
}

func skipsJSON(skips []policy.Skip) []explainSkipJSON {
	out := []explainSkipJSON{}
	for _, s := range skips {
		out = append(out, explainSkipJSON{Rule: s.Rule.Name, Line: s.Rule.Line, Reason: s.Reason})
	}
	return out
}

// proposerNote says who the batch is explained as proposed by, and what
// the policy makes of them.
func proposerNote(p explainProposerJSON) string {
	who := p.Login
	if who == "" {
		who = "unknown (no --proposer given)"
	}
	if p.FromFork {
		who += ", from a fork"
	}
	switch {
	case p.FromFork:
		return who + ": never trusted, no change can be auto"
	case p.Login == "" && p.NamedByRules:
		return who + ": the policy's auto rules name the proposers they trust, so an unknown proposer is not trusted and no change can be auto (pass --proposer LOGIN)"
	case p.Login == "":
		return who + ": the policy's auto rules name no proposer, so everyone from inside the repository is trusted alike"
	case !p.Trusted:
		return who + ": no auto rule names this proposer, so no change can be auto"
	case p.NamedByRules:
		return who + ": trusted, an auto rule names this proposer"
	}
	return who + ": trusted, as everyone from inside the repository (the policy's auto rules name no proposer)"
}

func printExplanation(w io.Writer, x explainJSON) {
	fmt.Fprintf(w, "batch %s (%s)\npolicy %s\nproposer %s\n", x.Batch, x.File, x.Policy, proposerNote(x.Proposer))
	if x.Frozen {
		fmt.Fprintf(w, "frozen: the policy says freeze: true, so every auto decision is review until it is lifted (%s)\n", policy.RuleFreeze)
	}
	for _, c := range x.Changes {
		fmt.Fprintf(w, "\n%s  %s %s", c.Change, c.Kind, c.Target)
		if c.Op != batch.OpMerge {
			fmt.Fprintf(w, " %q -> %q", c.Before, c.After)
		}
		fmt.Fprintf(w, "  (source %s, confidence %s", c.Source, strconv.FormatFloat(c.Confidence, 'f', -1, 64))
		if c.Trigger != "" {
			fmt.Fprintf(w, ", trigger %s", c.Trigger)
		}
		fmt.Fprintln(w, ")")
		for _, s := range c.Skipped {
			fmt.Fprintf(w, "    skip    %s%s: %s\n", s.Rule, lineNote(s.Line), s.Reason)
		}
		if c.Matched != nil {
			fmt.Fprintf(w, "    match   %s%s: %s\n", c.Matched.Rule, lineNote(c.Matched.Line), c.Matched.Decision)
		} else {
			fmt.Fprintf(w, "    default no rule matched: %s\n", c.Decided)
		}
		for _, k := range c.AsKinds {
			// The rules skipped as another kind are in --json.
			fmt.Fprintf(w, "    as %s (writes %s, a field of kind %s)\n", k.Kind, c.Field, k.Kind)
			if k.Matched != nil {
				fmt.Fprintf(w, "      match   %s%s: %s\n", k.Matched.Rule, lineNote(k.Matched.Line), k.Decision)
			} else {
				fmt.Fprintf(w, "      default no rule matched: %s\n", k.Decision)
			}
		}
		switch {
		case c.Override != "":
			fmt.Fprintf(w, "    %s: %s\n", c.Override, c.Reason)
		case c.Why != "":
			fmt.Fprintf(w, "    why     %s\n", c.Why)
		}
		fmt.Fprintf(w, "    => %s (%s)\n", c.Decision, c.Rule)
	}
	fmt.Fprintf(w, "\nbatch: %s (%s)", x.Decision, strings.Join(x.Rules, ", "))
	if x.Decision == string(policy.Review) {
		fmt.Fprintf(w, ", %d approval(s) needed", x.Approvals)
	}
	fmt.Fprintln(w)
	switch {
	case x.ReviewOverrode:
		fmt.Fprintf(w, "every change is auto, but the batch's review key holds it for a person (%s): %s\n", policy.RuleBatchReview, x.Review)
	case x.Why != "":
		fmt.Fprintf(w, "every change is auto, but %s holds the batch for a person: %s\n", x.Rules[len(x.Rules)-1], x.Why)
	}
}

func lineNote(line int) string {
	if line == 0 {
		return ""
	}
	return " (line " + strconv.Itoa(line) + ")"
}

// basePolicy is the policy crmops check judges by, and a name for it.
func basePolicy(ws *workspace.Workspace, file, prBase string) (*policy.Policy, string, error) {
	pol, _, err := checkPolicy(ws, file, prBase)
	if err != nil {
		return nil, "", err
	}
	switch {
	case file != "":
		return pol, file, nil
	case prBase != "":
		return pol, policy.Path + " on " + ws.Remote() + "/" + prBase, nil
	}
	for _, ref := range []string{ws.RemoteRef(), gitrepo.BranchRef(ws.Branch())} {
		if _, err := ws.Git.Ref(ref); err == nil {
			short := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/remotes/"), "refs/heads/")
			return pol, policy.Path + " on " + short, nil
		}
	}
	return pol, policy.Path + " in the checkout", nil
}

// lookupBatch resolves a file path or a batch id: a file under proposals/ in
// the checkout, else the batch file on its proposal branch as last
// fetched. It returns the name to decode it under and its content.
func lookupBatch(ws *workspace.Workspace, target string) (string, []byte, error) {
	for _, p := range []string{target, ws.Path(target)} {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return "", nil, fmt.Errorf("explain: %w", err)
			}
			name := p
			if abs, err := filepath.Abs(p); err == nil {
				if rel, err := filepath.Rel(ws.Dir, abs); err == nil && filepath.IsLocal(rel) {
					name = filepath.ToSlash(rel)
				}
			}
			return name, data, nil
		}
	}
	id := strings.TrimSuffix(target, ".yaml")
	if !batch.ValidID(id) {
		return "", nil, fmt.Errorf("explain: %s is neither a batch file nor a batch id", target)
	}
	var found string
	root := ws.Path(batch.Dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && filepath.Base(p) == id+".yaml" {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("explain: %w", err)
	}
	if found != "" {
		data, err := os.ReadFile(found)
		if err != nil {
			return "", nil, fmt.Errorf("explain: %w", err)
		}
		rel, _ := filepath.Rel(ws.Dir, found)
		return filepath.ToSlash(rel), data, nil
	}
	branch := "refs/remotes/" + ws.Remote() + "/crmops/" + id
	if h, err := ws.Git.Ref(branch); err == nil {
		for _, p := range []string{batch.Path(id), batch.Dir + "/" + id + ".yaml"} {
			if data, err := ws.Git.ReadFile(h, p); err == nil {
				return p, data, nil
			}
		}
	}
	return "", nil, fmt.Errorf("explain: batch %s is not under %s/ in the checkout nor on branch crmops/%s (fetch it, or pass the file)", id, batch.Dir, id)
}

// ---- policy test

type policyTestOptions struct {
	policyFile string
	asJSON     bool
}

func newPolicyTestCmd(f *factory) *cobra.Command {
	var o policyTestOptions
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run policies/tests/*.yaml against the policy (exit 3 if a decision differs)",
		Long: "test runs every case of policies/tests/*.yaml against the policy in the checkout (the one\n" +
			"a pull request brings), or --policy FILE, and fails with exit code 3 when a decision differs.\n\n" +
			"A test file:\n\n" +
			"  version: 1\n" +
			"  cases:\n" +
			"    - name: fill an empty job title\n" +
			"      change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: \"\",\n" +
			"               after: VP Sales, source: clay, confidence: 0.97, trigger: import}\n" +
			"      proposer: github-actions[bot]    # optional: who proposed, as the forge knows it\n" +
			"      from_fork: false                 # optional: true for a pull request from a fork\n" +
			"      expect: auto                     # auto | review | deny\n" +
			"      rule: enrichment-fill-empty      # optional; also default or a guard\n\n" +
			"A change takes the keys of a batch change that a policy sees (kind, object, op, field,\n" +
			"before, after, source, confidence, trigger; record and merge_from for a valid change;\n" +
			"record defaults to \"1\") and is validated like one. It is decided as a proposal is: by\n" +
			"the rules for its kind and every kind whose field it writes, then the guards, for the\n" +
			"proposer the case names (without one, an unknown proposer, whom a policy whose auto rules\n" +
			"name proposers does not trust). rule may name a guard: invariant:never-auto,\n" +
			"invariant:field-kind, invariant:proposer or freeze.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runPolicyTest(f, o) },
	}
	cmd.Flags().StringVar(&o.policyFile, "policy", "", "test this policy file (default: "+policy.Path+" in the checkout)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "machine output")
	return cmd
}

// policyTestJSON is the --json output of policy test.
type policyTestJSON struct {
	Policy    string           `json:"policy"`
	Cases     []policyCaseJSON `json:"cases"`
	Failed    int              `json:"failed"`
	Uncovered []string         `json:"uncovered"`
}

type policyCaseJSON struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Case     string   `json:"case"`
	Want     string   `json:"want"`
	WantRule string   `json:"want_rule"`
	Got      string   `json:"got"`
	GotRule  string   `json:"got_rule"`
	Pass     bool     `json:"pass"`
	Diff     string   `json:"diff"`
	Why      []string `json:"why"`
	// Proposer and FromFork are who the case was decided as proposed by.
	Proposer string `json:"proposer"`
	FromFork bool   `json:"from_fork"`
}

// checkoutPolicy loads file, or the policy in the checkout: the one a pull
// request proposes, which is what its tests and simulation are about.
func checkoutPolicy(ws *workspace.Workspace, file string) (*policy.Policy, string, error) {
	name, path := file, file
	if file == "" {
		name, path = policy.Path, ws.Path(policy.Path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	pol, err := policy.Load(name, data)
	return pol, name, err
}

func runPolicyTest(f *factory, o policyTestOptions) error {
	ws, err := f.workspace()
	if err != nil {
		return err
	}
	pol, label, err := checkoutPolicy(ws, o.policyFile)
	if err != nil {
		return err
	}
	cases, err := policytest.Load(ws.Path(policytest.Dir))
	if err != nil {
		return err
	}
	if len(cases) == 0 {
		return fmt.Errorf("policy test: no test files in %s/ (crmops policy test --help shows the format)", policytest.Dir)
	}
	results := policytest.Run(pol, cases)
	failed := policytest.Failed(results)
	uncovered := policytest.Uncovered(pol, results)
	if o.asJSON {
		out := policyTestJSON{Policy: label, Failed: failed, Uncovered: uncovered, Cases: []policyCaseJSON{}}
		if out.Uncovered == nil {
			out.Uncovered = []string{}
		}
		for _, r := range results {
			why := r.Why(pol)
			if why == nil {
				why = []string{}
			}
			out.Cases = append(out.Cases, policyCaseJSON{
				File: r.Case.File, Line: r.Case.Line, Case: r.Case.Name, Want: string(r.Case.Expect), WantRule: r.Case.Rule,
				Got: string(r.Got.Decision), GotRule: r.Got.Rule, Pass: r.Pass, Diff: r.Diff(), Why: why,
				Proposer: r.Case.Proposer.Login, FromFork: r.Case.Proposer.Outside,
			})
		}
		if err := writeJSON(f, out); err != nil {
			return err
		}
	} else {
		f.quoted(func(w io.Writer) {
			for _, r := range results {
				if r.Pass {
					fmt.Fprintf(w, "ok    %s  (%s, %s)\n", r.Case.Name, r.Got.Decision, r.Got.Rule)
					continue
				}
				fmt.Fprintf(w, "FAIL  %s: %s\n", r.Case.Where(), r.Diff())
				for _, line := range r.Why(pol) {
					fmt.Fprintf(w, "        %s\n", line)
				}
			}
			fmt.Fprintf(w, "%d case(s) against %s: %d failed\n", len(results), label, failed)
			if len(uncovered) > 0 {
				fmt.Fprintf(w, "note: no case reaches %s\n", strings.Join(uncovered, ", "))
			}
		})
	}
	if workflows.InActions(f.getenv) {
		w := f.out
		if o.asJSON {
			w = f.err
		}
		for _, r := range results {
			if !r.Pass {
				fmt.Fprintln(w, workflows.Command("error", []workflows.Property{
					{Name: "file", Value: r.Case.File}, {Name: "line", Value: strconv.Itoa(r.Case.Line)}, {Name: "title", Value: "crmops policy test"},
				}, r.Diff()))
			}
		}
	}
	if failed > 0 {
		return &exitCodeError{code: exitInvalid}
	}
	return nil
}

// ---- policy simulate

type policySimulateOptions struct {
	policyFile string
	since      string
	asJSON     bool
	markdown   string
}

func newPolicySimulateCmd(f *factory) *cobra.Command {
	var o policySimulateOptions
	cmd := &cobra.Command{
		Use:   "simulate [--policy NEW.yaml] [--since DATE]",
		Short: "Replay every batch in proposals/ under a proposed policy and report what it would decide differently",
		Long: "simulate replays every batch under proposals/ in the checkout, with its receipt, under the\n" +
			"proposed policy (--policy, default: " + policy.Path + " in the checkout) and reports the changes\n" +
			"that were applied automatically and would now need review, those a person approved or\n" +
			"rejected that would now be applied automatically, and all it denies, by rule and by kind,\n" +
			"with examples. Each batch is decided for who proposed it, as the history records it: the\n" +
			"author of the first commit of the proposal its crmops merge brought in (a batch without one\n" +
			"is replayed as proposed by an unknown proposer, and counted). What a built-in guard or a\n" +
			"limit decided is counted by its rule name (by guard) and its examples say why.\n" +
			"--since DATE (2026-01-31 or RFC 3339) replays only batches created since.\n" +
			"In GitHub Actions, the report is added to the job summary; --markdown FILE writes it to\n" +
			"FILE too, for a pull request comment.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runPolicySimulate(f, o) },
	}
	cmd.Flags().StringVar(&o.policyFile, "policy", "", "the proposed policy file (default: "+policy.Path+" in the checkout)")
	cmd.Flags().StringVar(&o.since, "since", "", "replay only batches created at or after this date (YYYY-MM-DD or RFC 3339)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "machine output")
	cmd.Flags().StringVar(&o.markdown, "markdown", "", "also write the report as Markdown to this file")
	return cmd
}

// historyProposers reads who proposed each merged batch from the checked-out
// branch's history of merges, as the local forge does (see
// simulate.Proposers); an unborn branch has none.
func historyProposers(ws *workspace.Workspace) (map[string]policy.Proposer, error) {
	tip, err := ws.Git.Ref("HEAD")
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	proposers, err := simulate.Proposers(ws.Git, tip)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	return proposers, nil
}

func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageError{fmt.Errorf("--since %q: want a date like 2026-01-31 or a time like 2026-01-31T06:00:00Z", s)}
}

func runPolicySimulate(f *factory, o policySimulateOptions) error {
	since, err := parseSince(o.since)
	if err != nil {
		return err
	}
	ws, err := f.workspace()
	if err != nil {
		return err
	}
	pol, label, err := checkoutPolicy(ws, o.policyFile)
	if err != nil {
		return err
	}
	proposers, err := historyProposers(ws)
	if err != nil {
		return err
	}
	rep, err := simulate.Run(ws.Dir, pol, simulate.Options{Since: since, Proposers: proposers})
	if err != nil {
		return err
	}
	rep.Policy = label
	md := rep.Markdown()
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, []byte(md), 0o644); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	if path := f.getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := workflows.AppendSummary(path, md); err != nil {
			fmt.Fprintln(f.err, "crmops: warning: "+err.Error())
		}
	}
	if o.asJSON {
		return writeJSON(f, rep)
	}
	f.quoted(func(w io.Writer) { io.WriteString(w, rep.Text()) })
	return nil
}
