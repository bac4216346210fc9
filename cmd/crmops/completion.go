package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/workspace"
)

// Shell completion (crmops completion bash|zsh|fish|powershell) of batch
// ids, object names, detector and agent names. Completion runs on every
// Tab, so it reads only what is on disk in the checkout, cheaply and
// without changing anything: the file names under proposals/ in the work
// tree (the batches on the base branch), the proposal branches as last
// fetched (.git's refs and packed-refs), and crmops.yaml. It never fetches,
// opens the CRM or asks the forge.

// completionSetters attach completion to the command at each path; keys
// naming no command in the tree are ignored.
var completionSetters = map[string]func(cmd *cobra.Command){
	"crmops review show":    batchArg(openBatches | mergedBatches | appliedBatches),
	"crmops review approve": batchArg(openBatches),
	"crmops review reject":  batchArg(openBatches),
	"crmops review drop":    batchArg(openBatches),
	"crmops merge":          batchArg(openBatches),
	"crmops revert": func(cmd *cobra.Command) {
		batchArg(appliedBatches)(cmd)
		flagCompletion(cmd, "change", completeChangeIDs)
	},
	"crmops policy explain": func(cmd *cobra.Command) {
		// BATCH|FILE...: ids, and the shell's file names when none match.
		cmd.ValidArgsFunction = func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if strings.ContainsAny(toComplete, `/\`) {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return batchCompletions(cmd, openBatches|mergedBatches|appliedBatches, toComplete), cobra.ShellCompDirectiveDefault
		}
		yamlFlag(cmd, "policy")
	},
	"crmops apply": func(cmd *cobra.Command) {
		flagCompletion(cmd, "batch", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return batchCompletions(cmd, mergedBatches, toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	},

	"crmops crm get":    recordArg,
	"crmops audit":      recordArg,
	"crmops crm import": objectThenFile("csv"),
	"crmops crm export": objectThenFile(),
	"crmops detect": func(cmd *cobra.Command) {
		flagCompletion(cmd, "detector", func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return detectorNames(cmd), cobra.ShellCompDirectiveNoFileComp
		})
		// --truth OBJECT=FILE: the object, then the shell's file names.
		flagCompletion(cmd, "truth", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if strings.Contains(toComplete, "=") {
				return nil, cobra.ShellCompDirectiveDefault
			}
			var out []cobra.Completion
			for _, o := range objectNames(cmd) {
				out = append(out, o+"=")
			}
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		})
	},
	"crmops mcp": func(cmd *cobra.Command) {
		flagCompletion(cmd, "agent", func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return agentNames(cmd), cobra.ShellCompDirectiveNoFileComp
		})
		flagCompletion(cmd, "http", cobra.FixedCompletions([]cobra.Completion{"127.0.0.1:8765"}, cobra.ShellCompDirectiveNoFileComp))
	},
	"crmops init": func(cmd *cobra.Command) {
		flagCompletion(cmd, "forge", cobra.FixedCompletions([]cobra.Completion{
			cobra.CompletionWithDesc("local", "branches on a git remote"),
			cobra.CompletionWithDesc("github", "pull requests on GitHub"),
		}, cobra.ShellCompDirectiveNoFileComp))
		flagCompletion(cmd, "crm", cobra.FixedCompletions([]cobra.Completion{
			cobra.CompletionWithDesc("sqlite", "the embedded CRM"),
			cobra.CompletionWithDesc("salesforce", "Salesforce's objects and field names"),
		}, cobra.ShellCompDirectiveNoFileComp))
		cmd.ValidArgsFunction = dirArg
	},
	"crmops quickstart":      func(cmd *cobra.Command) { cmd.ValidArgsFunction = dirArg },
	"crmops check":           func(cmd *cobra.Command) { yamlFlag(cmd, "policy") },
	"crmops policy test":     func(cmd *cobra.Command) { yamlFlag(cmd, "policy") },
	"crmops policy simulate": func(cmd *cobra.Command) { yamlFlag(cmd, "policy") },
}

// setCompletions attaches completion to the tree under root: the setters
// by path, directories for --repo, YAML files for --config, and no file
// names for commands that take no arguments.
func setCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("repo", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	})
	yamlFlag(root, "config")
	walk(root, func(cmd *cobra.Command) {
		if set, ok := completionSetters[cmd.CommandPath()]; ok {
			set(cmd)
		}
		if cmd.ValidArgsFunction == nil && !cmd.HasSubCommands() && cmd.Runnable() && cmd.Args != nil && cmd.Args(cmd, []string{"x"}) != nil {
			// It takes no arguments: offering file names would mislead.
			cmd.ValidArgsFunction = cobra.NoFileCompletions
		}
	})
}

func flagCompletion(cmd *cobra.Command, name string, fn cobra.CompletionFunc) {
	if cmd.Flags().Lookup(name) != nil {
		_ = cmd.RegisterFlagCompletionFunc(name, fn)
	}
}

func yamlFlag(cmd *cobra.Command, name string) {
	flagCompletion(cmd, name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	})
}

func dirArg(_ *cobra.Command, a []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(a) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// ---- batches

// batchStates selects batches by where they are.
type batchStates int

const (
	// openBatches have a proposal branch crmops/<id> as last fetched, and
	// are neither on the base branch nor rejected.
	openBatches batchStates = 1 << iota
	// mergedBatches are on the base branch without a receipt.
	mergedBatches
	// appliedBatches are on the base branch with a receipt.
	appliedBatches
)

// batchArg completes a command's first argument with batch ids.
func batchArg(which batchStates) func(cmd *cobra.Command) {
	return func(cmd *cobra.Command) {
		cmd.ValidArgsFunction = func(cmd *cobra.Command, a []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(a) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return batchCompletions(cmd, which, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
}

// batchCompletions lists the ids of the batches in states, each with its
// state as the description, newest first.
func batchCompletions(cmd *cobra.Command, which batchStates, toComplete string) []cobra.Completion {
	dir, cfg := completionRepo(cmd)
	remote := "origin"
	if cfg != nil {
		remote = cfg.Forge.Remote
	}
	states := listBatches(dir, remote)
	var ids []string
	for id, st := range states {
		if which&st != 0 && strings.HasPrefix(id, toComplete) {
			ids = append(ids, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	out := make([]cobra.Completion, 0, len(ids))
	for _, id := range ids {
		out = append(out, cobra.CompletionWithDesc(id, stateName(states[id])))
	}
	return out
}

func stateName(st batchStates) string {
	switch st {
	case openBatches:
		return "open proposal"
	case mergedBatches:
		return "merged, not applied"
	default:
		return "applied"
	}
}

// listBatches reads the state of every batch the checkout at dir knows of,
// from file names alone.
func listBatches(dir, remote string) map[string]batchStates {
	states := map[string]batchStates{}
	receipts, rejected := map[string]bool{}, map[string]bool{}
	_ = filepath.WalkDir(filepath.Join(dir, batch.Dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := filepath.ToSlash(p)
		switch id := batch.IDOfFile(name); {
		case id == "":
		case strings.HasSuffix(name, batch.ReceiptSuffix):
			receipts[id] = true
		case strings.HasSuffix(name, batch.RejectionSuffix):
			rejected[id] = true
		case batch.IsBatchFile(name):
			states[id] = mergedBatches
		}
		return nil
	})
	for id := range states {
		if receipts[id] {
			states[id] = appliedBatches
		}
	}
	for _, id := range proposalBranches(dir, remote) {
		if _, onBase := states[id]; !onBase && !rejected[id] {
			states[id] = openBatches
		}
	}
	return states
}

// proposalBranches lists the ids of the proposal branches as last fetched
// from remote: refs/remotes/<remote>/crmops/<id>, loose or packed.
func proposalBranches(dir, remote string) []string {
	gitDir := filepath.Join(dir, ".git")
	prefix := "refs/remotes/" + remote + "/" + forge.BranchPrefix
	var ids []string
	add := func(id string) {
		if batch.ValidID(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(gitDir, filepath.FromSlash(prefix))); err == nil {
		for _, e := range entries {
			if !e.IsDir() {
				add(e.Name())
			}
		}
	}
	if file, err := os.Open(filepath.Join(gitDir, "packed-refs")); err == nil {
		defer file.Close()
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			// "<hash> <ref>"; "#" starts the header, "^" a peeled tag.
			_, ref, ok := strings.Cut(sc.Text(), " ")
			if id, found := strings.CutPrefix(ref, prefix); ok && found {
				add(id)
			}
		}
	}
	return ids
}

// completeChangeIDs completes revert --change with the change ids of the
// batch already on the command line, read from the work tree.
func completeChangeIDs(cmd *cobra.Command, a []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(a) == 0 || !batch.ValidID(a[0]) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir, _ := completionRepo(cmd)
	p := filepath.Join(dir, filepath.FromSlash(batch.Path(a[0])))
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	b, err := batch.Decode(p, data)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, c := range b.Changes {
		if strings.HasPrefix(c.ID, toComplete) {
			desc := c.Op + " " + c.Object + "/" + c.Record
			if c.Field != "" {
				desc += " " + c.Field
			}
			out = append(out, cobra.CompletionWithDesc(c.ID, desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// ---- objects, detectors, agents

// recordArg completes OBJECT/ID up to the slash: the ids are the CRM's.
func recordArg(cmd *cobra.Command) {
	cmd.ValidArgsFunction = func(cmd *cobra.Command, a []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(a) > 0 || strings.Contains(toComplete, "/") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, o := range objectNames(cmd) {
			out = append(out, o+"/")
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
}

// objectThenFile completes OBJECT, then a file name (with one of exts).
func objectThenFile(exts ...string) func(cmd *cobra.Command) {
	return func(cmd *cobra.Command) {
		cmd.ValidArgsFunction = func(cmd *cobra.Command, a []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch {
			case len(a) == 0:
				return objectNames(cmd), cobra.ShellCompDirectiveNoFileComp
			case len(a) == 1 && len(exts) > 0:
				return exts, cobra.ShellCompDirectiveFilterFileExt
			case len(a) == 1:
				return nil, cobra.ShellCompDirectiveDefault
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
}

// objectNames are the standard objects and those crmops.yaml's detectors
// and agents name.
func objectNames(cmd *cobra.Command) []string {
	names := slices.Clone(crm.StandardObjects)
	if _, cfg := completionRepo(cmd); cfg != nil {
		for _, node := range cfg.Detectors {
			names = append(names, nodeObjects(&node)...)
		}
		for _, a := range cfg.Agents {
			for o := range a.Read {
				names = append(names, o)
			}
			for o := range a.Propose {
				names = append(names, o)
			}
			names = append(names, a.Merge...)
		}
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !batch.ValidObject(n) })
	sort.Strings(names)
	return slices.Compact(names)
}

// nodeObjects finds the values of object: and objects: keys anywhere in a
// detector's settings.
func nodeObjects(n *yaml.Node) []string {
	var out []string
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case (k.Value == "object" || k.Value == "objects") && v.Kind == yaml.ScalarNode:
				out = append(out, v.Value)
			case k.Value == "objects" && v.Kind == yaml.SequenceNode:
				for _, item := range v.Content {
					if item.Kind == yaml.ScalarNode {
						out = append(out, item.Value)
					}
				}
			default:
				out = append(out, nodeObjects(v)...)
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			out = append(out, nodeObjects(c)...)
		}
	}
	return out
}

// detectorNames are the detectors crmops.yaml configures, or, without
// any, every detector this build knows.
func detectorNames(cmd *cobra.Command) []string {
	var names []string
	if _, cfg := completionRepo(cmd); cfg != nil {
		for name := range cfg.Detectors {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return detectors.Names()
	}
	sort.Strings(names)
	return names
}

func agentNames(cmd *cobra.Command) []string {
	var names []string
	if _, cfg := completionRepo(cmd); cfg != nil {
		for name := range cfg.Agents {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		names = []string{defaultAgent}
	}
	sort.Strings(names)
	return names
}

// completionRepo is the repository --repo names on the command line being
// completed (by default, as for every command, the one the working
// directory is in), and its crmops.yaml (or --config's), or nil if that
// does not read.
func completionRepo(cmd *cobra.Command) (string, *config.Config) {
	dir, configPath := ".", ""
	if fl := cmd.Flag("repo"); fl != nil {
		dir = fl.Value.String()
	}
	if fl := cmd.Flag("config"); fl != nil {
		configPath = fl.Value.String()
	}
	if dir == "." {
		if found, err := workspace.Find(dir, configPath); err == nil {
			dir = found
		}
	}
	if configPath == "" {
		configPath = filepath.Join(dir, config.File)
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return dir, nil
	}
	return dir, cfg
}
