package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/strictyaml"
)

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		data string
		got  func(c *config.Config) string
		want string
	}{
		{"the sqlite database defaults to .crmops/crm.db", "version: 1\ncrm: {kind: sqlite}\n", func(c *config.Config) string { return c.CRM.Path }, ".crmops/crm.db"},
		{"an explicit sqlite path is kept", "version: 1\ncrm: {kind: sqlite, path: db/crm.sqlite}\n", func(c *config.Config) string { return c.CRM.Path }, "db/crm.sqlite"},
		{"the forge defaults to local", "version: 1\ncrm: {kind: sqlite}\n", func(c *config.Config) string { return c.Forge.Kind }, "local"},
		{"the remote defaults to origin", "version: 1\ncrm: {kind: sqlite}\n", func(c *config.Config) string { return c.Forge.Remote }, "origin"},
		{"the base branch defaults to main", "version: 1\ncrm: {kind: sqlite}\n", func(c *config.Config) string { return c.Forge.Branch }, "main"},
		{"the forge token defaults to GITHUB_TOKEN", "version: 1\ncrm: {kind: sqlite}\n", func(c *config.Config) string { return c.Forge.TokenEnv }, "GITHUB_TOKEN"},
		{"an explicit remote and branch are kept", "version: 1\ncrm: {kind: sqlite}\nforge: {kind: github, remote: upstream, branch: trunk}\n", func(c *config.Config) string { return c.Forge.Kind + " " + c.Forge.Remote + " " + c.Forge.Branch }, "github upstream trunk"},
		{"hubspot defaults to the public API", "version: 1\ncrm: {kind: hubspot}\n", func(c *config.Config) string { return c.CRM.BaseURL }, "https://api.hubapi.com"},
		{"hubspot's token defaults to HUBSPOT_TOKEN", "version: 1\ncrm: {kind: hubspot}\n", func(c *config.Config) string { return c.CRM.TokenEnv }, "HUBSPOT_TOKEN"},
		{"hubspot's base URL can point at a proxy", "version: 1\ncrm: {kind: hubspot, base_url: http://127.0.0.1:9}\n", func(c *config.Config) string { return c.CRM.BaseURL }, "http://127.0.0.1:9"},
		{"detector settings are read as given", "version: 1\ncrm: {kind: sqlite}\ndetectors:\n  enrichment: {input: data/enrichment.csv, match_on: email, source: clay}\n",
			func(c *config.Config) string {
				n := c.Detectors["enrichment"]
				var d struct {
					Input   string `yaml:"input"`
					MatchOn string `yaml:"match_on"`
					Source  string `yaml:"source"`
				}
				if err := strictyaml.DecodeNode(config.File, "detectors.enrichment", &n, &d); err != nil {
					return err.Error()
				}
				return d.Input + " " + d.MatchOn + " " + d.Source
			}, "data/enrichment.csv email clay"},
		{"the configuration init writes is sqlite on a local forge", config.Default, func(c *config.Config) string {
			return c.CRM.Kind + " " + c.CRM.Path + " " + c.Forge.Kind + " " + c.Forge.Remote
		}, "sqlite .crmops/crm.db local origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(config.File, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(c); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
		msg  string
	}{
		{"an unknown CRM kind names file, line and key", "version: 1\ncrm:\n  kind: pipedrive\n", "crmops.yaml:3: crm.kind: ", `unknown CRM kind "pipedrive" (sqlite, hubspot or salesforce)`},
		{"an unknown key is refused and the known keys listed", "version: 1\ncrm:\n  kind: sqlite\n  pathh: x\n", "crmops.yaml:4: crm.pathh: ", "unknown key (known keys: api_version, base_url, client_id_env, client_secret_env, instance_url, instance_url_env, kind, path, requests_per_10s, strict_cas, tier, token_env)"},
		{"an unknown top-level key is refused", "version: 1\ncrm: {kind: sqlite}\nforges: {}\n", "crmops.yaml:3: forges: ", "unknown key"},
		{"an unknown forge kind is refused", "version: 1\ncrm: {kind: sqlite}\nforge:\n  kind: gitlab\n", "crmops.yaml:4: forge.kind: ", `unknown forge kind "gitlab"`},
		{"a missing crm section is refused", "version: 1\n", "crmops.yaml:1: crm: ", "missing required key"},
		{"a crm without a kind is refused", "version: 1\ncrm:\n  path: x.db\n", "crmops.yaml:3: crm.kind: ", "missing required key"},
		{"an unsupported version is refused", "version: 2\ncrm: {kind: sqlite}\n", "crmops.yaml:1: version: ", "unsupported version"},
		{"a duplicate key is refused", "version: 1\ncrm: {kind: sqlite}\ncrm: {kind: hubspot}\n", "crmops.yaml:3: crm: ", "duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(config.File, []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error; config:\n%s", tt.data)
			}
			if c != nil {
				t.Error("Parse returned a config along with its error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q\nwant prefix %q and %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Run("a missing configuration says how to create one", func(t *testing.T) {
		_, err := config.Load(filepath.Join(t.TempDir(), config.File))
		if err == nil || !strings.Contains(err.Error(), "crmops init") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("errors in a loaded file name its path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), config.File)
		if err := os.WriteFile(path, []byte("version: 1\ncrm: {kind: oracle}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+":2: crm.kind: ") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("a written default loads", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), config.File)
		if err := os.WriteFile(path, []byte(config.Default), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(path); err != nil {
			t.Error(err)
		}
	})
}

func TestParseRefusesADetectorConfiguredTwice(t *testing.T) {
	data := "version: 1\ncrm: {kind: sqlite}\ndetectors:\n  enrichment: {source: clay}\n  enrichment: {source: zoominfo}\n"
	_, err := config.Parse(config.File, []byte(data))
	if err == nil || !strings.HasPrefix(err.Error(), "crmops.yaml:5: detectors.enrichment: ") {
		t.Errorf("error = %v, want a duplicate key error on line 5", err)
	}
}

func TestCheckCRMBaseURL(t *testing.T) {
	const allowEnv = config.AllowCRMBaseURLEnv
	tests := []struct {
		name, data, allowed string
		want                string // error prefix; "" for none
		msg                 []string
	}{
		{"hubspot's own API host is allowed", "version: 1\ncrm: {kind: hubspot}\n", "", "", nil},
		{"the API host written out is allowed", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://api.hubapi.com\n", "", "", nil},
		{"a trailing slash does not matter", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://api.hubapi.com/\n", "", "", nil},
		{"the embedded CRM sends no token anywhere", "version: 1\ncrm: {kind: sqlite}\n", "", "", nil},
		{"another host is refused, at the key's line", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://collector.example\n", "",
			"crmops.yaml:4: crm.base_url: ", []string{`"https://collector.example" is not HubSpot's API host https://api.hubapi.com`, "HUBSPOT_TOKEN", allowEnv + ` to exactly "https://collector.example"`}},
		{"a look-alike host is refused", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://api.hubapi.com.collector.example\n", "",
			"crmops.yaml:4: crm.base_url: ", []string{"is not HubSpot's API host"}},
		{"user info in front of the host is refused", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://api.hubapi.com@collector.example\n", "",
			"crmops.yaml:4: crm.base_url: ", []string{"is not HubSpot's API host"}},
		{"http to HubSpot's host is refused", "version: 1\ncrm:\n  kind: hubspot\n  base_url: http://api.hubapi.com\n", "",
			"crmops.yaml:4: crm.base_url: ", []string{`"http://api.hubapi.com" is not https`, "unencrypted", allowEnv}},
		{"the token named is the configured one", "version: 1\ncrm:\n  kind: hubspot\n  token_env: HS_PRIVATE_APP\n  base_url: https://collector.example\n", "",
			"crmops.yaml:5: crm.base_url: ", []string{"send HS_PRIVATE_APP there"}},
		{"the environment allows one exact URL", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://proxy.internal.example/hubspot\n", "https://proxy.internal.example/hubspot", "", nil},
		{"the allowance may carry a trailing slash", "version: 1\ncrm:\n  kind: hubspot\n  base_url: http://127.0.0.1:8080\n", "http://127.0.0.1:8080/", "", nil},
		{"an allowance for another URL does not allow this one", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://collector.example\n", "https://proxy.internal.example",
			"crmops.yaml:4: crm.base_url: ", []string{allowEnv + ` (now "https://proxy.internal.example") to exactly "https://collector.example"`}},
		{"an allowance of the host does not allow a path below it", "version: 1\ncrm:\n  kind: hubspot\n  base_url: https://proxy.example/other\n", "https://proxy.example",
			"crmops.yaml:4: crm.base_url: ", []string{`(now "https://proxy.example")`}},
		{"a URL with a line break stays on one line", "version: 1\ncrm:\n  kind: hubspot\n  base_url: \"https://a.example\\n::error::x\"\n", "",
			"crmops.yaml:4: crm.base_url: ", []string{`\n::error::x`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(config.File, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckCRMBaseURL(tt.allowed)
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckCRMBaseURL(%q) = %v, want nil", tt.allowed, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckCRMBaseURL(%q) = nil, want an error", tt.allowed)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q\nwant prefix %q", err, tt.want)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q\nlacks %q", err, m)
				}
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
	t.Run("a loaded file's errors name its path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), config.File)
		if err := os.WriteFile(path, []byte("version: 1\ncrm:\n  kind: hubspot\n  base_url: https://collector.example\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckCRMBaseURL(""); err == nil || !strings.HasPrefix(err.Error(), path+":4: crm.base_url: ") {
			t.Errorf("error = %v", err)
		}
	})
}
