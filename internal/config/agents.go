package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

// AllFields in an agent's field list stands for every field of the object.
const AllFields = "*"

// DefaultAgentChangesPerHour bounds an agent's proposals when its entry
// sets no max_changes_per_hour: enough for an assistant working through a
// list with a person, far from what a runaway loop would propose.
const DefaultAgentChangesPerHour = 100

// Agent is what the operator lets one AI agent do through crmops mcp: the
// guard rails the agent cannot see or change.
type Agent struct {
	// Read maps an object to the fields the agent may see of its records.
	Read map[string][]string `yaml:"read"`
	// Propose maps an object to the fields the agent may propose to set.
	Propose map[string][]string `yaml:"propose"`
	// Merge lists the objects whose duplicates the agent may propose to merge.
	Merge []string `yaml:"merge"`
	// MaxChangesPerHour bounds the changes the agent proposes in any hour,
	// counted from the proposals in git (open, merged and rejected).
	MaxChangesPerHour int `yaml:"max_changes_per_hour"`
	// Auto lets the policy decide the agent's changes auto where a rule
	// names it as a proposer; false (the default) sends every one of its
	// batches to review whatever the policy says.
	Auto bool `yaml:"auto"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Agent returns the guard rails of the agent called name, or an error
// naming the crmops.yaml key to add: an agent nobody configured gets
// nothing, not everything.
func (c *Config) Agent(name string) (*Agent, error) {
	a, ok := c.Agents[name]
	if !ok {
		known := make([]string, 0, len(c.Agents))
		for k := range c.Agents {
			known = append(known, k)
		}
		sort.Strings(known)
		have := "it has none"
		if len(known) > 0 {
			have = "it has " + strings.Join(known, ", ")
		}
		return nil, fmt.Errorf("%s: no agents.%s: say what the agent may read and propose before it connects (%s; see the README, \"Connecting an AI agent\")", c.name(), name, have)
	}
	return &a, nil
}

func (c *Config) name() string {
	if c.file == "" {
		return File
	}
	return c.file
}

// checkAgents validates every agents: entry and fills in defaults.
func (c *Config) checkAgents(file string) error {
	names := make([]string, 0, len(c.Agents))
	for name := range c.Agents {
		names = append(names, name)
	}
	sort.Strings(names) // the first error is the same on every run
	for _, name := range names {
		a := c.Agents[name]
		if !batch.ValidAgent(name) {
			return c.Pos.Errorf(file, "agents", "%q is not a valid agent name (lower case letters, digits, '.', '_', '-')", name)
		}
		if strings.EqualFold(name, c.Forge.Login) || strings.EqualFold(name, GitHubActionsLogin) {
			// The agent's name is a proposer name in the policy: it must
			// not be the login crmops' own proposals are judged as.
			return c.Pos.Errorf(file, "agents", "agent %q has the name of the login crmops proposes as (forge.login); choose another", name)
		}
		for key, m := range map[string]map[string][]string{"read": a.Read, "propose": a.Propose} {
			for object, fields := range m {
				if !batch.ValidObject(object) {
					return a.Pos.Errorf(file, key, "%q is not a valid object name", object)
				}
				for _, f := range fields {
					if f != AllFields && !batch.ValidField(f) {
						return a.Pos.Errorf(file, key, "%s: %q is not a valid field name (or \"*\" for every field)", object, f)
					}
				}
			}
		}
		for _, object := range a.Merge {
			if !batch.ValidObject(object) {
				return a.Pos.Errorf(file, "merge", "%q is not a valid object name", object)
			}
		}
		switch {
		case a.MaxChangesPerHour < 0:
			return a.Pos.Errorf(file, "max_changes_per_hour", "must not be negative")
		case a.MaxChangesPerHour == 0:
			a.MaxChangesPerHour = DefaultAgentChangesPerHour
		}
		c.Agents[name] = a
	}
	return nil
}

// MayRead reports whether the agent may see field of object's records.
func (a *Agent) MayRead(object, field string) bool { return allows(a.Read, object, field) }

// MayReadObject reports whether the agent may read any field of object.
func (a *Agent) MayReadObject(object string) bool { return len(a.Read[object]) > 0 }

// MayPropose reports whether the agent may propose to set field of object.
func (a *Agent) MayPropose(object, field string) bool { return allows(a.Propose, object, field) }

// MayMerge reports whether the agent may propose merges of object.
func (a *Agent) MayMerge(object string) bool { return slices.Contains(a.Merge, object) }

func allows(m map[string][]string, object, field string) bool {
	fields := m[object]
	return slices.Contains(fields, AllFields) || slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, field) })
}
