package config_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/config"
)

func TestAgentsGuardRails(t *testing.T) {
	c, err := config.Parse("crmops.yaml", []byte(`version: 1
crm: {kind: sqlite}
agents:
  scout:
    read: {contacts: [email, LifecycleStage], companies: ["*"]}
    propose: {contacts: [lifecyclestage]}
    merge: [contacts]
`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Agent("scout")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		got  bool
		want bool
	}{
		{"read contacts.email", a.MayRead("contacts", "email"), true},
		{"read contacts.lifecyclestage (case-insensitive)", a.MayRead("contacts", "lifecyclestage"), true},
		{"read contacts.phone", a.MayRead("contacts", "phone"), false},
		{"read any companies field", a.MayRead("companies", "anything"), true},
		{"read deals", a.MayReadObject("deals"), false},
		{"propose contacts.lifecyclestage", a.MayPropose("contacts", "lifecyclestage"), true},
		{"propose contacts.email", a.MayPropose("contacts", "email"), false},
		{"propose companies.name (readable, not proposable)", a.MayPropose("companies", "name"), false},
		{"merge contacts", a.MayMerge("contacts"), true},
		{"merge companies", a.MayMerge("companies"), false},
		{"auto by default", a.Auto, false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	if a.MaxChangesPerHour != config.DefaultAgentChangesPerHour {
		t.Errorf("max_changes_per_hour defaults to %d, want %d", a.MaxChangesPerHour, config.DefaultAgentChangesPerHour)
	}
	_, err = c.Agent("claude")
	if err == nil || !strings.Contains(err.Error(), "crmops.yaml: no agents.claude") || !strings.Contains(err.Error(), "it has scout") {
		t.Errorf("an unconfigured agent: %v", err)
	}
}

func TestAgentsErrorsNameTheLineAndKey(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"a typo'd key":        {"agents:\n  scout:\n    raed: {contacts: [email]}\n", "crmops.yaml:5: agents.scout.raed: unknown key"},
		"an upper-case name":  {"agents:\n  Scout: {}\n", `crmops.yaml:3: agents: "Scout" is not a valid agent name`},
		"the forge's login":   {"agents:\n  crmops: {}\n", `crmops.yaml:3: agents: agent "crmops" has the name of the login crmops proposes as`},
		"a bad field":         {"agents:\n  scout:\n    propose: {contacts: [\"e mail\"]}\n", `crmops.yaml:5: agents.scout.propose: contacts: "e mail" is not a valid field name`},
		"a bad object":        {"agents:\n  scout:\n    read: {con-tacts: [email]}\n", `crmops.yaml:5: agents.scout.read: "con-tacts" is not a valid object name`},
		"a negative limit":    {"agents:\n  scout:\n    max_changes_per_hour: -1\n", "crmops.yaml:5: agents.scout.max_changes_per_hour: must not be negative"},
		"a list, not a map":   {"agents:\n  scout:\n    read: [contacts]\n", "crmops.yaml:5: agents.scout.read: want a mapping"},
		"auto is not boolean": {"agents:\n  scout:\n    auto: sometimes\n", "crmops.yaml:5: agents.scout.auto"},
	} {
		_, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: sqlite}\n"+tc.yaml))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to start %q", name, err, tc.want)
		}
	}
}

func TestTheDefaultConfigurationHasAnAgent(t *testing.T) {
	c, err := config.Parse("crmops.yaml", []byte(config.Default))
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Agent("assistant")
	if err != nil {
		t.Fatal(err)
	}
	if a.Auto || !a.MayPropose("contacts", "lifecyclestage") || a.MayPropose("contacts", "email") || a.MayMerge("contacts") {
		t.Errorf("the default agent: %+v", a)
	}
}
