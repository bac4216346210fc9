// Package config reads crmops.yaml, the repository's choice of CRM connector,
// forge and detector settings.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/strictyaml"
)

// File is the configuration's default name, at the repository root.
const File = "crmops.yaml"

// Config is a decoded crmops.yaml.
type Config struct {
	Version int   `yaml:"version" strict:"required"`
	CRM     CRM   `yaml:"crm" strict:"required"`
	Forge   Forge `yaml:"forge"`
	// Detectors holds each detector's settings raw; the detector decodes
	// them strictly itself (see strictyaml.DecodeNode), so errors keep
	// their lines.
	Detectors map[string]yaml.Node `yaml:"detectors"`
	// Agents holds each AI agent's guard rails for crmops mcp, by name.
	Agents map[string]Agent `yaml:"agents"`

	Pos strictyaml.Pos `yaml:"-"`

	// file is the name Parse was given, for errors found after it.
	file string
}

// CRM selects and configures the connector.
type CRM struct {
	Kind     string `yaml:"kind" strict:"required"`
	Path     string `yaml:"path"`
	BaseURL  string `yaml:"base_url"`
	TokenEnv string `yaml:"token_env"`
	// Tier is the HubSpot account tier whose published API limits set the
	// default request rate (free, starter, professional, enterprise).
	Tier string `yaml:"tier"`
	// RequestsPer10s overrides the client-side request rate.
	RequestsPer10s int `yaml:"requests_per_10s"`

	// Salesforce: the org's My Domain URL, or the environment variable
	// holding it; the REST API version; the connected app's client id and
	// secret variables (the client-credentials flow) instead of TokenEnv;
	// and StrictCAS for conditional single-record updates.
	InstanceURL     string `yaml:"instance_url"`
	InstanceURLEnv  string `yaml:"instance_url_env"`
	APIVersion      string `yaml:"api_version"`
	ClientIDEnv     string `yaml:"client_id_env"`
	ClientSecretEnv string `yaml:"client_secret_env"`
	StrictCAS       bool   `yaml:"strict_cas"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Forge selects where proposals are reviewed.
type Forge struct {
	Kind     string `yaml:"kind"`
	Remote   string `yaml:"remote"`
	Branch   string `yaml:"branch"`
	TokenEnv string `yaml:"token_env"`
	// Login is who crmops proposes as on the forge: the identity its
	// proposals' author is judged as before the forge has said (GitHub:
	// the token's login, github-actions[bot] for a workflow's GITHUB_TOKEN
	// or <app>[bot] for an App; local: crmops).
	Login string `yaml:"login"`

	Pos strictyaml.Pos `yaml:"-"`
}

// GitHubActionsLogin is the login GitHub gives a workflow's GITHUB_TOKEN.
const GitHubActionsLogin = "github-actions[bot]"

// Load reads and checks the configuration at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no configuration here; run crmops init, or pass --repo or --config", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a configuration file's content.
func Parse(file string, data []byte) (*Config, error) {
	var c Config
	if err := strictyaml.Decode(file, data, &c); err != nil {
		return nil, err
	}
	c.file = file
	if c.Version != 1 {
		return nil, c.Pos.Errorf(file, "version", "unsupported version %d", c.Version)
	}
	switch c.CRM.Kind {
	case "sqlite":
		if c.CRM.Path == "" {
			c.CRM.Path = ".crmops/crm.db"
		}
	case "hubspot":
		if c.CRM.BaseURL == "" {
			c.CRM.BaseURL = vendorAPI["hubspot"].baseURL
		}
		if c.CRM.TokenEnv == "" {
			c.CRM.TokenEnv = "HUBSPOT_TOKEN"
		}
	case "salesforce":
		if err := c.CRM.salesforce(file); err != nil {
			return nil, err
		}
	default:
		return nil, c.CRM.Pos.Errorf(file, "kind", "unknown CRM kind %q (sqlite, hubspot or salesforce)", c.CRM.Kind)
	}
	if c.Forge.Kind == "" {
		c.Forge.Kind = "local"
	}
	switch c.Forge.Kind {
	case "local", "github":
	default:
		return nil, c.Forge.Pos.Errorf(file, "kind", "unknown forge kind %q (local or github)", c.Forge.Kind)
	}
	if c.Forge.Remote == "" {
		c.Forge.Remote = "origin"
	}
	if c.Forge.Branch == "" {
		c.Forge.Branch = "main"
	}
	if c.Forge.TokenEnv == "" {
		c.Forge.TokenEnv = "GITHUB_TOKEN"
	}
	if c.Forge.Login == "" {
		c.Forge.Login = "crmops"
		if c.Forge.Kind == "github" {
			c.Forge.Login = GitHubActionsLogin
		}
	}
	if err := c.checkAgents(file); err != nil {
		return nil, err
	}
	return &c, nil
}

// AllowCRMBaseURLEnv names the environment variable that lets crm.base_url
// point somewhere other than the CRM vendor's API host (a proxy, a test
// double). It holds the exact base URL allowed. It belongs in the
// workflow's env:, which CODEOWNERS guards with .github/, never in
// crmops.yaml, which a writer could change along with the URL.
const AllowCRMBaseURLEnv = "CRMOPS_ALLOW_CRM_BASE_URL"

// vendorAPI is each CRM's API host, the one place its token may go without
// an allowance. HubSpot serves its API from https://api.hubapi.com
// (https://developers.hubspot.com/docs/apps/legacy-apps/authentication/intro-to-auth).
var vendorAPI = map[string]struct{ name, baseURL string }{
	"hubspot": {"HubSpot", "https://api.hubapi.com"},
}

// CheckCRMBaseURL refuses a crm.base_url other than the CRM vendor's API
// host, or one that is not https, unless allowed (the value of
// AllowCRMBaseURLEnv, which the caller reads from the environment) is that
// exact URL. crmops sends the CRM token to the base URL, and crmops.yaml is
// a file any writer of the repository can change; the check keeps that
// change from sending the token to a host of the writer's choosing.
// Trailing slashes are ignored; everything else must match exactly.
func (c *Config) CheckCRMBaseURL(allowed string) error {
	vendor, ok := vendorAPI[c.CRM.Kind]
	if !ok {
		return nil // no token leaves the machine
	}
	base := strings.TrimRight(c.CRM.BaseURL, "/")
	allowed = strings.TrimRight(strings.TrimSpace(allowed), "/")
	if base == vendor.baseURL || (allowed != "" && base == allowed) {
		return nil
	}
	file := c.file
	if file == "" {
		file = File
	}
	token := c.CRM.TokenEnv
	switch {
	case token == "":
		token = "the CRM token"
	case strings.ContainsFunc(token, unicode.IsControl):
		token = strconv.Quote(token) // the error stays one line
	}
	problem := fmt.Sprintf("%q is not %s's API host %s, and crmops would send %s there", base, vendor.name, vendor.baseURL, token)
	if !strings.HasPrefix(strings.ToLower(base), "https://") {
		problem = fmt.Sprintf("%q is not https, and crmops would send %s there unencrypted", base, token)
	}
	now := ""
	if allowed != "" {
		now = fmt.Sprintf(" (now %q)", allowed)
	}
	return c.CRM.Pos.Errorf(file, "base_url", "%s; write %s, or, to use this URL (a proxy, a test double), set %s%s to exactly %q in the workflow's env",
		problem, vendor.baseURL, AllowCRMBaseURLEnv, now, base)
}

// DefaultGitHub is the configuration `crmops init --forge github` writes:
// login is the identity the workflows propose as.
func DefaultGitHub(login string) string {
	return strings.Replace(Default, "forge:\n  kind: local                  # local (branches on a git remote) | github\n",
		"forge:\n  kind: github                 # local (branches on a git remote) | github\n  login: "+strconv.Quote(login)+"   # who the workflows propose as; the default policy's auto rules trust only it\n", 1)
}

// Default is the configuration `crmops init` writes.
const Default = `# yaml-language-server: $schema=schemas/config.schema.json
version: 1
crm:
  kind: sqlite                 # sqlite (embedded default) | hubspot
  path: .crmops/crm.db         # the database file (git-ignored)
  # kind: hubspot
  # base_url: https://api.hubapi.com
  # token_env: HUBSPOT_TOKEN
forge:
  kind: local                  # local (branches on a git remote) | github
  remote: origin
detectors: {}
agents:                        # AI agents, connected with crmops mcp --agent NAME (README: "Connecting an AI agent")
  assistant:
    read:                      # object: fields the agent may see ("*": every field)
      contacts: ["*"]
      companies: ["*"]
    propose:                   # object: fields it may propose to set
      contacts: [lifecyclestage, jobtitle, phone, email_status]
      companies: [industry, phone, domain]
    # merge: [contacts]        # objects whose duplicates it may propose to merge
    max_changes_per_hour: 100
    auto: false                # true: a policy rule naming the agent as proposer may make its changes auto
`
