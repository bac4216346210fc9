package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/crmops/crmops/internal/batch"
)

// testFactory is a factory on buffers with an empty environment.
func testFactory(stdin string) (*factory, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	f := newFactory(strings.NewReader(stdin), &out, &errOut, func(string) string { return "" })
	return f, &out, &errOut
}

// everyCommand is every command of newRoot's tree but cobra's own help
// command, parents first.
func everyCommand(t *testing.T) []*cobra.Command {
	t.Helper()
	f, _, _ := testFactory("")
	var cmds []*cobra.Command
	walk(newRoot(f), func(cmd *cobra.Command) {
		if cmd.Name() == "help" || strings.HasPrefix(cmd.Name(), "__") {
			return
		}
		cmds = append(cmds, cmd)
	})
	if len(cmds) < 25 {
		t.Fatalf("the tree has %d commands; expected every crmops command", len(cmds))
	}
	return cmds
}

// Every command, group and the completion commands included, shows
// examples in its --help.
func TestHelpShowsExamplesOnEveryCommand(t *testing.T) {
	for _, cmd := range everyCommand(t) {
		path := cmd.CommandPath()
		t.Run(path, func(t *testing.T) {
			if strings.TrimSpace(cmd.Example) == "" {
				t.Fatalf("%s has no Example: add one to examples in examples.go", path)
			}
			if _, ok := examples[path]; !ok {
				t.Logf("%s has no entry in examples.go; it shows %q", path, cmd.Example)
			}
			f, out, errOut := testFactory("")
			argv := append(strings.Fields(path)[1:], "--help")
			if code := run(context.Background(), f, argv); code != exitOK {
				t.Fatalf("crmops %s: exit %d\n%s", strings.Join(argv, " "), code, errOut)
			}
			first := strings.SplitN(cmd.Example, "\n", 2)[0]
			if !strings.Contains(out.String(), "\nExamples:\n"+first) {
				t.Errorf("crmops %s: no Examples section starting %q:\n%s", strings.Join(argv, " "), first, out)
			}
		})
	}
}

// Every entry of examples.go names a command of the tree: a stale entry
// would never be shown.
func TestHelpExamplesNameCommands(t *testing.T) {
	have := map[string]bool{}
	for _, cmd := range everyCommand(t) {
		have[cmd.CommandPath()] = true
	}
	for path := range examples {
		if !have[path] {
			t.Errorf("examples.go has examples for %q, which is not a command", path)
		}
	}
}

var (
	// exampleID is the shape of the batch ids crmops makes (batch.NewID).
	exampleID = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[a-z0-9_]+(-[a-z0-9_]+)*-[0-9a-f]{6}$`)
	// idLike finds what is meant as a batch id anywhere in a word.
	idLike = regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z[A-Za-z0-9._-]*`)
)

// Every example is true: each crmops command line in it names a command,
// parses with that command's flags, has the arguments it takes, and its
// batch ids and records look like real ones.
func TestHelpExamplesAreTrue(t *testing.T) {
	for _, cmd := range everyCommand(t) {
		path := cmd.CommandPath()
		t.Run(path, func(t *testing.T) {
			own := 0
			for _, line := range strings.Split(cmd.Example, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				calls, err := shellCommands(line)
				if err != nil {
					t.Errorf("%q: %v", line, err)
					continue
				}
				for _, words := range calls {
					for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
						words = words[1:] // VAR=value crmops ...
					}
					if len(words) == 0 || words[0] != "crmops" {
						continue
					}
					got := checkExampleLine(t, line, words[1:])
					if got != nil && (strings.HasPrefix(got.CommandPath()+" ", path+" ") || !cmd.HasParent()) {
						own++
					}
				}
			}
			if own == 0 {
				t.Errorf("no example runs %s (or one of its subcommands):\n%s", path, cmd.Example)
			}
		})
	}
}

// checkExampleLine parses one crmops command line of an example as crmops
// would, on a tree of its own (flags keep their values), and returns the
// command it runs.
func checkExampleLine(t *testing.T, line string, argv []string) *cobra.Command {
	t.Helper()
	f, _, _ := testFactory("")
	root := newRoot(f)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	cmd, rest, err := root.Find(argv)
	if err != nil {
		t.Errorf("%q: %v", line, err)
		return nil
	}
	cmd.InitDefaultHelpFlag()
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%q: %s: %v", line, cmd.CommandPath(), err)
		return nil
	}
	if help, _ := cmd.Flags().GetBool("help"); help {
		return cmd
	}
	if v, _ := cmd.Flags().GetBool("version"); v {
		return cmd
	}
	positional := cmd.Flags().Args()
	if err := cmd.ValidateArgs(positional); err != nil {
		t.Errorf("%q: %s: %v", line, cmd.CommandPath(), err)
		return nil
	}
	for _, w := range append(positional, flagValues(cmd)...) {
		for _, id := range idLike.FindAllString(w, -1) {
			id = strings.TrimSuffix(id, ".yaml")
			if !exampleID.MatchString(id) || !batch.ValidID(id) {
				t.Errorf("%q: %q does not look like a batch id crmops makes (20261124T060000Z-enrichment-3f9c2a)", line, id)
				continue
			}
			if _, err := time.Parse("20060102T150405Z", id[:16]); err != nil {
				t.Errorf("%q: %q: no time: %v", line, id, err)
			}
			if strings.Contains(w, "/") && w != batch.Path(id) {
				t.Errorf("%q: %q is not where the batch lives (%s)", line, w, batch.Path(id))
			}
		}
	}
	if fl := cmd.Flags().Lookup("batch"); fl != nil && fl.Changed && !exampleID.MatchString(fl.Value.String()) {
		t.Errorf("%q: --batch %q is not a batch id", line, fl.Value.String())
	}
	// The first argument is what the usage line says.
	use := strings.Fields(cmd.Use)
	if len(use) < 2 || len(positional) == 0 {
		return cmd
	}
	arg := positional[0]
	switch use[1] {
	case "BATCH":
		if !exampleID.MatchString(arg) {
			t.Errorf("%q: BATCH %q is not a batch id", line, arg)
		}
	case "BATCH|PR":
		if !exampleID.MatchString(arg) && !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(arg) {
			t.Errorf("%q: %q is neither a batch id nor a pull request number", line, arg)
		}
	case "BATCH|FILE...":
		if !exampleID.MatchString(arg) && arg != batch.Path(batch.IDFromPath(arg)) {
			t.Errorf("%q: %q is neither a batch id nor a batch file", line, arg)
		}
	case "OBJECT/ID":
		object, id, ok := strings.Cut(arg, "/")
		if !ok || !batch.ValidObject(object) || id == "" {
			t.Errorf("%q: %q is not OBJECT/ID", line, arg)
		}
	case "OBJECT":
		if !batch.ValidObject(arg) {
			t.Errorf("%q: %q is not an object name", line, arg)
		}
	}
	return cmd
}

// flagValues are the values the command line gave the command's flags.
func flagValues(cmd *cobra.Command) []string {
	var out []string
	cmd.Flags().Visit(func(fl *pflag.Flag) { out = append(out, fl.Value.String()) })
	return out
}

// shellCommands splits an example line into the simple commands a POSIX
// shell would run (pipelines, lists, and the commands in $(...) and
// <(...)), as words, without redirections and comments.
func shellCommands(line string) ([][]string, error) {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord, redirect := false, false
	endWord := func() {
		if !inWord {
			return
		}
		if redirect {
			redirect = false // the redirection's target
		} else {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	endCommand := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			endWord()
		case c == '#' && !inWord:
			i = len(line)
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errUnclosed("'")
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' {
					j++
				}
			}
			if j >= len(line) {
				return nil, errUnclosed(`"`)
			}
			word.WriteString(line[i+1 : j])
			inWord, i = true, j
		case (c == '$' || c == '<') && i+1 < len(line) && line[i+1] == '(':
			depth, j := 1, i+2
			for ; j < len(line) && depth > 0; j++ {
				switch line[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			if depth > 0 {
				return nil, errUnclosed("(")
			}
			inner, err := shellCommands(line[i+2 : j-1])
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, inner...)
			word.WriteString("SUBSTITUTED")
			inWord, i = true, j-1
		case c == '|' || c == ';' || c == '&':
			endCommand()
			if i+1 < len(line) && line[i+1] == c {
				i++
			}
		case c == '>' || c == '<':
			if inWord && strings.Trim(word.String(), "0123456789") == "" {
				word.Reset() // 2>
				inWord = false
			}
			endWord()
			if i+1 < len(line) && line[i+1] == '>' {
				i++
			}
			redirect = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	endCommand()
	return cmds, nil
}

type errUnclosed string

func (e errUnclosed) Error() string { return "unclosed " + string(e) }

func TestHelpShellCommandsSplitsExampleLines(t *testing.T) {
	for line, want := range map[string]string{
		`crmops review approve 20261124T060000Z-dedupe-8b41d7 --as alice`:         `crmops review approve 20261124T060000Z-dedupe-8b41d7 --as alice`,
		`crmops crm export companies > companies.csv`:                             `crmops crm export companies`,
		`my-enricher --since yesterday | crmops propose --source my-enricher`:     `my-enricher --since yesterday|crmops propose --source my-enricher`,
		`source <(crmops completion zsh --no-descriptions)`:                       `crmops completion zsh --no-descriptions|source SUBSTITUTED`,
		`CRMOPS_MCP_TOKEN=$(openssl rand -hex 32) crmops mcp --http 0.0.0.0:8765`: `openssl rand -hex 32|CRMOPS_MCP_TOKEN=SUBSTITUTED crmops mcp --http 0.0.0.0:8765`,
		`crmops review reject B --reason "o-2 is back" 2>/dev/null # why`:         `crmops review reject B --reason o-2 is back`,
		`echo "a; b" >> ~/.zshrc && crmops init --login 'x[bot]'`:                 `echo a; b|crmops init --login x[bot]`,
	} {
		cmds, err := shellCommands(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var got []string
		for _, c := range cmds {
			got = append(got, strings.Join(c, " "))
		}
		if g := strings.Join(got, "|"); g != want {
			t.Errorf("%q:\n got %q\nwant %q", line, g, want)
		}
	}
}
