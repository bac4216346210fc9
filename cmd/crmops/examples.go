package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are every command's examples, by command path, as a user would
// type them: newRoot sets them as the commands' Example (a command that
// sets its own keeps it). Each line starting with "crmops " must parse with
// its command's flags and arguments, and batch ids must look like the ids
// crmops makes (TestHelpExamplesAreTrue); "# " lines say what the next
// ones do.
var examples = map[string]string{
	"crmops": `
# Run the whole loop offline, on a sample CRM, in a new temporary directory
crmops quickstart

# Set up a change-request repository, then see what waits for a person
crmops init crm-changes
crmops --repo crm-changes review list

# Find out what any command does, with examples
crmops review approve --help`,

	"crmops init": `
# A repository in a new directory: the embedded CRM and a local git remote
crmops init crm-changes

# For GitHub (docs/github.md): forge: github, and auto rules trusting only the workflows' bot
crmops init crm-changes --forge github

# ... when the workflows act as a GitHub App
crmops init crm-changes --forge github --login 'crmops-app[bot]'

# Configuration, detectors and policy in Salesforce's object and field names
crmops init crm-changes --crm salesforce`,

	"crmops quickstart": `
# In a new temporary directory
crmops quickstart

# In a directory of your choice (new or empty), with a bigger sample CRM
crmops quickstart /tmp/crm-demo --contacts 2000 --companies 300 --seed 7`,

	"crmops crm": `
crmops crm import contacts contacts.csv
crmops crm get contacts/1001
crmops crm export companies companies.csv
crmops crm seed --contacts 2000 --companies 100`,

	"crmops crm import": `
# Upsert contacts from a crmops CSV ("id" column) or a HubSpot export ("Record ID")
crmops crm import contacts contacts.csv

# An export in which an id appears on several rows: the later rows win
crmops crm import contacts hubspot-export.csv --last-wins

# An object the CRM has no records of yet
crmops crm import invoices invoices.csv --new-object`,

	"crmops crm get": `
crmops crm get contacts/1001
crmops crm get companies/c-0042 --json

# Every change the CRM recorded to the record's fields, crmops' and others'
crmops crm get contacts/1001 --history`,

	"crmops crm export": `
crmops crm export contacts contacts.csv

# To stdout
crmops crm export companies > companies.csv`,

	"crmops crm seed": `
# 10,000 contacts and 500 companies with planted duplicates, gaps and stale owners
crmops crm seed

# Smaller, from another seed, with the planted duplicate groups (object,group,id) written out
crmops crm seed --contacts 2000 --companies 100 --seed 7 --truth planted.csv`,

	"crmops detect": `
# Run every detector under detectors: in crmops.yaml and propose what they find
crmops detect

# Only enrichment, showing the batches without proposing them
crmops detect --detector enrichment --dry-run

# Score dedupe's merges against labelled duplicates (a CSV with columns id and cluster)
crmops detect --detector dedupe --dry-run --truth contacts=labelled-contacts.csv

# Leave the auto batches open too, and print the proposals as JSON
crmops detect --no-merge --json

# Part 1 of 2 of the run, in one job of a CI matrix (the other job runs --shard 2/2)
crmops detect --shard 1/2`,

	"crmops propose": `
# Changes as JSON lines (or a YAML list), one proposal per batch
crmops propose changes.jsonl --source clay

# From another program, on stdin
my-enricher --since yesterday | crmops propose --source my-enricher

# See the batches and their decisions without proposing anything
crmops propose changes.yaml --dry-run --json`,

	"crmops check": `
# Every batch file under proposals/, under the base branch's policy
crmops check

# One batch file, judged as proposed by alice
crmops check proposals/2026-11/20261124T060000Z-enrichment-3f9c2a.yaml --proposer alice

# Under a proposed policy, as JSON
crmops check --policy policies/new.yaml --json`,

	"crmops review": `
crmops review list
crmops review show 20261124T060000Z-dedupe-8b41d7
crmops review approve 20261124T060000Z-dedupe-8b41d7 --as alice
crmops review reject 20261124T060000Z-owner-c81e07 --reason "o-2 is back from leave"`,

	"crmops review list": `
# The open proposals, with what each waits for
crmops review list

# Merged, applied and rejected batches too, as JSON
crmops review list --all --json`,

	"crmops review show": `
crmops review show 20261124T060000Z-dedupe-8b41d7

# A merged batch, with its receipt once applied
crmops review show 20261124T060000Z-enrichment-3f9c2a`,

	"crmops review approve": `
crmops review approve 20261124T060000Z-dedupe-8b41d7 --as alice

# As $CRMOPS_LOGIN
CRMOPS_LOGIN=alice crmops review approve 20261124T060000Z-dedupe-8b41d7`,

	"crmops review reject": `
crmops review reject 20261124T060000Z-owner-c81e07 --as bob --reason "o-2 is back from leave"`,

	"crmops review drop": `
# Take change c3 (a merge, and the survivorship sets that follow it) out of the proposal
crmops review drop 20261124T060000Z-dedupe-8b41d7 c3 --as alice --reason "two people sharing an inbox"

# Then approve what is left
crmops review approve 20261124T060000Z-dedupe-8b41d7 --as alice`,

	"crmops merge": `
# Refused until the base branch's policy is satisfied (auto, or enough approvals)
crmops merge 20261124T060000Z-dedupe-8b41d7 --as bob

# On GitHub, by pull request number, from a workflow run on each approval:
# exit 0 while the proposal only waits for more approvals
crmops merge 42 --if-ready`,

	"crmops apply": `
# What would happen, changing nothing
crmops apply --dry-run

# Execute every merged batch that lacks a complete receipt
crmops apply

# Only one batch
crmops apply --batch 20261124T060000Z-enrichment-3f9c2a`,

	"crmops audit": `
crmops audit contacts/1001

# Only the changes to one field (and merges)
crmops audit contacts/1043 --field jobtitle

crmops audit companies/c-0042 --json`,

	"crmops revert": `
# Propose undoing every applied change of a batch
crmops revert 20261124T060000Z-enrichment-3f9c2a

# Only two of its changes, left open for review
crmops revert 20261124T060000Z-enrichment-3f9c2a --change c2 --change c4 --no-merge`,

	"crmops policy": `
crmops policy explain 20261124T060000Z-enrichment-3f9c2a
crmops policy test
crmops policy simulate --policy policies/new.yaml --since 2026-01-01`,

	"crmops policy explain": `
crmops policy explain 20261124T060000Z-enrichment-3f9c2a

# As proposed by the workflows' bot
crmops policy explain 20261124T060000Z-enrichment-3f9c2a --proposer 'github-actions[bot]'

# A batch file, under a proposed policy, as JSON
crmops policy explain proposals/2026-11/20261124T060000Z-enrichment-3f9c2a.yaml --policy policies/new.yaml --json`,

	"crmops policy test": `
# policies/tests/*.yaml against policies/default.yaml
crmops policy test

# Against a proposed policy
crmops policy test --policy policies/new.yaml --json`,

	"crmops policy simulate": `
# What the proposed policy would decide differently about every batch so far
crmops policy simulate --policy policies/new.yaml

# Only this year's batches, with a Markdown report for a pull request comment
crmops policy simulate --policy policies/new.yaml --since 2026-01-01 --markdown simulation.md`,

	"crmops mcp": `
# Serve the agent configured as agents.assistant in crmops.yaml, over stdio
crmops mcp

# Over streamable HTTP on loopback (no token needed)
crmops mcp --agent assistant --http 127.0.0.1:8765

# Off loopback, clients send "Authorization: Bearer <token>"
CRMOPS_MCP_TOKEN=$(openssl rand -hex 32) crmops mcp --http 0.0.0.0:8765`,

	"crmops doctor": `
# Check the configuration, remote, policy, forge, CRM, inputs, workflows and agents
crmops doctor

# Another repository, as JSON
crmops --repo crm-changes doctor --json`,

	"crmops report": `
# What the loop did, as Markdown
crmops report

# Since November, with a self-contained HTML page to forward
crmops report --since 2026-11-01 --html report.html

# In a GitHub workflow: on the job's summary page
crmops report >> "$GITHUB_STEP_SUMMARY"

crmops report --json`,

	"crmops version": `
crmops version
crmops --version

# {version, commit, time, modified, go}
crmops version --json`,

	"crmops completion": `
# bash, in this shell
source <(crmops completion bash)

# zsh, in every new shell
crmops completion zsh > "${fpath[1]}/_crmops"

# fish
crmops completion fish > ~/.config/fish/completions/crmops.fish`,

	"crmops completion bash": `
# In this shell (needs the bash-completion package)
source <(crmops completion bash)

# In every new shell, on Linux
crmops completion bash > /etc/bash_completion.d/crmops`,

	"crmops completion zsh": `
# Once, if shell completion is not enabled in zsh yet
echo "autoload -U compinit; compinit" >> ~/.zshrc

# In every new shell
crmops completion zsh > "${fpath[1]}/_crmops"

# In this shell, without descriptions
source <(crmops completion zsh --no-descriptions)`,

	"crmops completion fish": `
crmops completion fish | source
crmops completion fish > ~/.config/fish/completions/crmops.fish`,

	"crmops completion powershell": `
crmops completion powershell | Out-String | Invoke-Expression

# In every new shell: add the line above to your PowerShell profile
crmops completion powershell >> $PROFILE`,
}

// setExamples gives every command under root its examples: the command's
// own Example if it sets one, else the one examples has for its path, else
// (a command added since, taking no arguments) the command line itself.
func setExamples(root *cobra.Command) {
	walk(root, func(cmd *cobra.Command) {
		if cmd.Example != "" {
			return
		}
		if text, ok := examples[cmd.CommandPath()]; ok {
			cmd.Example = indentExample(text)
			return
		}
		if cmd.Runnable() && !cmd.HasSubCommands() && (cmd.Args == nil || cmd.Args(cmd, nil) == nil) {
			cmd.Example = indentExample(cmd.CommandPath())
		}
	})
}

// indentExample indents text's lines by two spaces, as cobra's help shows
// examples, dropping the leading and trailing blank lines.
func indentExample(text string) string {
	lines := strings.Split(strings.Trim(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}
