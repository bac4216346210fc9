package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of the SPEC.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitInvalid = 3 // check found invalid or denied changes
	exitProblem = 4 // apply finished with stale or failed changes
)

// exitCodeError ends a command with a specific exit code; msg, when set, is
// printed on stderr.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// args wraps a cobra argument check so its failures exit 2.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func run(ctx context.Context, f *factory, argv []string) int {
	root := newRoot(f)
	root.SetArgs(argv)
	root.SetIn(f.in)
	root.SetOut(f.out)
	root.SetErr(f.err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *exitCodeError
	if errors.As(err, &ce) {
		if ce.msg != "" {
			fmt.Fprintln(f.err, "crmops: "+ce.msg)
		}
		return ce.code
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(f.err, "crmops: %v\nRun 'crmops --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintln(f.err, "crmops: "+oneLine(err.Error()))
	return exitError
}

// oneLine keeps error output to the one line the SPEC promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func newRoot(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "crmops",
		Short:         "Reviewed, auditable changes to CRM data, as git commits",
		Long:          "crmops turns CRM data changes into reviewed git history: detectors propose batches,\na policy or a person approves them, apply executes them with compare-and-swap,\nand git log and crmops audit are the audit trail.",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version: the version and the commit it was built from.
		Version: currentBuild().String(),
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.PersistentFlags().StringVar(&f.repoDir, "repo", ".", "the change-request repository")
	root.PersistentFlags().StringVar(&f.configPath, "config", "", "configuration file (default: crmops.yaml in the repository)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newInitCmd(f), newCRMCmd(f), newDetectCmd(f), newProposeCmd(f), newCheckCmd(f), newReviewCmd(f),
		newMergeCmd(f), newApplyCmd(f), newAuditCmd(f), newRevertCmd(f), newPolicyCmd(f), newQuickstartCmd(f), newMCPCmd(f),
		newDoctorCmd(f), newReportCmd(f), newVersionCmd(f),
	)
	// cobra's completion command (bash, zsh, fish, powershell), made now
	// rather than at Execute so it gets its examples and unknown-command
	// handling with the rest; it writes its script to the stream set
	// here.
	root.SetIn(f.in)
	root.SetOut(f.out)
	root.SetErr(f.err)
	root.InitDefaultCompletionCmd()
	walk(root, func(cmd *cobra.Command) {
		if cmd.HasSubCommands() && !cmd.Runnable() {
			reportUnknownSubcommands(cmd)
		}
	})
	setExamples(root)
	setCompletions(root)
	return root
}

// walk calls fn on cmd and every command below it, parents first.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		walk(c, fn)
	}
}

// reportUnknownSubcommands makes a group command (crmops review, crmops
// policy) print its help when run alone, and refuse an argument that is not
// one of its subcommands with exit 2 and cobra's suggestions, as the top
// level does: cobra would print the group's help and exit 0 on "crmops
// review aprove X".
func reportUnknownSubcommands(group *cobra.Command) {
	if !group.HasParent() {
		return // cobra checks the top level's arguments itself
	}
	group.Args = func(cmd *cobra.Command, a []string) error {
		if len(a) == 0 {
			return nil
		}
		return usageError{unknownCommand(cmd, a[0])}
	}
	group.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	// "crmops review lits --json": the group has no --json, but the
	// mistake is the subcommand. Subcommands inherit this function: theirs
	// are flag errors.
	group.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if a := cmd.Flags().Args(); cmd == group && len(a) > 0 {
			return usageError{unknownCommand(cmd, a[0])}
		}
		return usageError{err}
	})
}

// unknownCommand is cobra's error for an unknown subcommand, with its
// "Did you mean this?" suggestions.
func unknownCommand(cmd *cobra.Command, arg string) error {
	msg := fmt.Sprintf("unknown command %q for %q", arg, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only on the top level
	}
	if s := cmd.SuggestionsFor(arg); len(s) > 0 && !cmd.DisableSuggestions {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return errors.New(msg)
}

func writeJSON(f *factory, v any) error {
	enc := json.NewEncoder(f.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
