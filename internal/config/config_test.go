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
		{"an unknown CRM kind names file, line and key", "version: 1\ncrm:\n  kind: salesforce\n", "crmops.yaml:3: crm.kind: ", `unknown CRM kind "salesforce"`},
		{"an unknown key is refused and the known keys listed", "version: 1\ncrm:\n  kind: sqlite\n  pathh: x\n", "crmops.yaml:4: crm.pathh: ", "unknown key (known keys: base_url, kind, path, requests_per_10s, tier, token_env)"},
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
