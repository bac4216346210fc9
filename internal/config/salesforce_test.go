package config_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/config"
)

func TestSalesforceSettings(t *testing.T) {
	c, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: salesforce, instance_url_env: SF_URL}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CRM.APIVersion != "62.0" || c.CRM.TokenEnv != "SALESFORCE_TOKEN" {
		t.Errorf("defaults: api_version %q token_env %q", c.CRM.APIVersion, c.CRM.TokenEnv)
	}
	env := map[string]string{"SF_URL": "https://acme.my.salesforce.com"}
	u, err := c.SalesforceInstanceURL(func(k string) string { return env[k] })
	if err != nil || u != "https://acme.my.salesforce.com" {
		t.Errorf("instance URL %q, %v", u, err)
	}
	if _, err := c.SalesforceInstanceURL(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "$SF_URL is empty") {
		t.Errorf("an empty instance URL variable: %v", err)
	}
	creds, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: salesforce, instance_url: https://acme.my.salesforce.com, client_id_env: ID, client_secret_env: SECRET}\n"))
	if err != nil || creds.CRM.TokenEnv != "" {
		t.Errorf("client credentials: %v, token_env %q", err, creds.CRM.TokenEnv)
	}
}

func TestSalesforceErrorsNameTheKey(t *testing.T) {
	for name, tc := range map[string]struct{ crm, want string }{
		"no instance":       {"{kind: salesforce}", "crmops.yaml:2: crm.instance_url: salesforce needs instance_url"},
		"both instances":    {"{kind: salesforce, instance_url: https://a.my.salesforce.com, instance_url_env: X}", "crmops.yaml:2: crm.instance_url_env: give instance_url or instance_url_env"},
		"a bad version":     {"{kind: salesforce, instance_url: https://a.my.salesforce.com, api_version: v62}", `crmops.yaml:2: crm.api_version: "v62" is not a Salesforce API version`},
		"half credentials":  {"{kind: salesforce, instance_url: https://a.my.salesforce.com, client_id_env: ID}", "crmops.yaml:2: crm.client_id_env: the client-credentials flow needs both"},
		"token and secrets": {"{kind: salesforce, instance_url: https://a.my.salesforce.com, token_env: T, client_id_env: ID, client_secret_env: S}", "crmops.yaml:2: crm.token_env: give token_env"},
	} {
		_, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: "+tc.crm+"\n"))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// crmops sends the token to the instance URL, and crmops.yaml is any
// writer's to change.
func TestTheSalesforceTokenGoesOnlyToSalesforce(t *testing.T) {
	c, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: salesforce, instance_url: https://acme.my.salesforce.com}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for u, ok := range map[string]bool{
		"https://acme.my.salesforce.com":                true,
		"https://acme--dev.sandbox.my.salesforce.com/":  true,
		"https://acme.lightning.force.com":              true,
		"http://acme.my.salesforce.com":                 false,
		"https://salesforce.com.evil.example":           false,
		"https://evil.example/acme.my.salesforce.com":   false,
		"https://user@acme.my.salesforce.com":           false,
		"https://acme.my.salesforce.com/services/data/": false,
		"https://.salesforce.com":                       false,
	} {
		err := c.CheckSalesforceURL(u, "")
		if (err == nil) != ok {
			t.Errorf("%s: %v, want allowed %v", u, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), config.AllowCRMBaseURLEnv) {
			t.Errorf("%s: %v does not say how to allow it", u, err)
		}
	}
	if err := c.CheckSalesforceURL("http://127.0.0.1:9", "http://127.0.0.1:9/"); err != nil {
		t.Errorf("an allowed test double: %v", err)
	}
}

func TestTheSalesforceDefaultConfiguration(t *testing.T) {
	for _, base := range []string{config.Default, config.DefaultGitHub("ops[bot]")} {
		text := config.ForSalesforce(base, "detectors:\n  lifecycle: {object: Lead, field: Status, input: data/events.csv}\n")
		c, err := config.Parse("crmops.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if c.CRM.Kind != "salesforce" || c.CRM.InstanceURLEnv != "SALESFORCE_INSTANCE_URL" || c.CRM.TokenEnv != "SALESFORCE_TOKEN" {
			t.Errorf("crm: %+v", c.CRM)
		}
		a, err := c.Agent("assistant")
		if err != nil || !a.MayPropose("Lead", "Status") || a.MayPropose("contacts", "lifecyclestage") {
			t.Errorf("agent: %+v %v", a, err)
		}
		if _, ok := c.Detectors["lifecycle"]; !ok {
			t.Errorf("detectors were not written")
		}
		if strings.Contains(base, "kind: github") != (c.Forge.Kind == "github") {
			t.Errorf("forge kind %q lost", c.Forge.Kind)
		}
	}
}
