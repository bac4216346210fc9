package config

import (
	"net/url"
	"regexp"
	"strings"
)

// DefaultSalesforceAPIVersion is the REST API version crmops speaks when
// crm.api_version is not set (Spring '25 and later serve it).
const DefaultSalesforceAPIVersion = "62.0"

var apiVersionPattern = regexp.MustCompile(`^[0-9]{2,3}\.0$`)

// salesforce checks and completes a crm: section of kind salesforce.
func (c *CRM) salesforce(file string) error {
	switch {
	case c.InstanceURL == "" && c.InstanceURLEnv == "":
		return c.Pos.Errorf(file, "instance_url", "salesforce needs instance_url (your org's https://NAME.my.salesforce.com) or instance_url_env")
	case c.InstanceURL != "" && c.InstanceURLEnv != "":
		return c.Pos.Errorf(file, "instance_url_env", "give instance_url or instance_url_env, not both")
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultSalesforceAPIVersion
	}
	if !apiVersionPattern.MatchString(c.APIVersion) {
		return c.Pos.Errorf(file, "api_version", "%q is not a Salesforce API version like \"62.0\"", c.APIVersion)
	}
	credentials := c.ClientIDEnv != "" || c.ClientSecretEnv != ""
	switch {
	case credentials && (c.ClientIDEnv == "" || c.ClientSecretEnv == ""):
		return c.Pos.Errorf(file, "client_id_env", "the client-credentials flow needs both client_id_env and client_secret_env")
	case credentials && c.TokenEnv != "":
		return c.Pos.Errorf(file, "token_env", "give token_env (an access token) or client_id_env and client_secret_env (the client-credentials flow), not both")
	case !credentials && c.TokenEnv == "":
		c.TokenEnv = "SALESFORCE_TOKEN"
	}
	return nil
}

// SalesforceInstanceURL is the instance URL the configuration names, read
// from the environment when it names a variable.
func (c *Config) SalesforceInstanceURL(getenv func(string) string) (string, error) {
	if c.CRM.InstanceURLEnv == "" {
		return c.CRM.InstanceURL, nil
	}
	v := strings.TrimSpace(getenv(c.CRM.InstanceURLEnv))
	if v == "" {
		return "", c.CRM.Pos.Errorf(c.name(), "instance_url_env", "$%s is empty; set it to your org's https://NAME.my.salesforce.com", c.CRM.InstanceURLEnv)
	}
	return v, nil
}

// salesforceHost reports whether u is https on one of Salesforce's own
// domains, where an org's My Domain and sandboxes live
// (https://help.salesforce.com/s/articleView?id=sf.domain_name_formats.htm).
func salesforceHost(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.User != nil || (p.Path != "" && p.Path != "/") {
		return false
	}
	host := strings.ToLower(p.Hostname())
	for _, domain := range []string{".salesforce.com", ".force.com"} {
		if strings.HasSuffix(host, domain) && len(host) > len(domain) {
			return true
		}
	}
	return false
}

// CheckSalesforceURL refuses an instance URL outside Salesforce's domains
// unless allowed (AllowCRMBaseURLEnv's value) is that exact URL, for the
// reason CheckCRMBaseURL gives: crmops sends the token there.
func (c *Config) CheckSalesforceURL(instanceURL, allowed string) error {
	base := strings.TrimRight(instanceURL, "/")
	allowed = strings.TrimRight(strings.TrimSpace(allowed), "/")
	if salesforceHost(base) || (allowed != "" && base == allowed) {
		return nil
	}
	key := "instance_url"
	if c.CRM.InstanceURLEnv != "" {
		key = "instance_url_env"
	}
	return c.CRM.Pos.Errorf(c.name(), key, "%q is not an https URL on Salesforce's domains (*.my.salesforce.com, *.force.com), and crmops would send the Salesforce token there; to use this URL (a proxy, a test double), set %s to exactly %q in the workflow's env",
		base, AllowCRMBaseURLEnv, base)
}

// salesforceCRM and salesforceAgents replace Default's crm: and agents:
// sections in the configuration `crmops init --crm salesforce` writes.
const salesforceCRM = `crm:
  kind: salesforce
  instance_url_env: SALESFORCE_INSTANCE_URL   # your org's https://NAME.my.salesforce.com (or instance_url: ...)
  api_version: "62.0"
  token_env: SALESFORCE_TOKEN                 # an access token; or, for a connected app's client-credentials flow:
  # client_id_env: SALESFORCE_CLIENT_ID
  # client_secret_env: SALESFORCE_CLIENT_SECRET
  # strict_cas: true                          # conditional single-record updates: no race window, more API calls
`

const salesforceAgents = `agents:                        # AI agents, connected with crmops mcp --agent NAME (README: "Connecting an AI agent")
  assistant:
    read:                      # object: fields the agent may see ("*": every field)
      Contact: ["*"]
      Lead: ["*"]
      Account: ["*"]
    propose:                   # object: fields it may propose to set
      Contact: [Title, Phone, Email_Status__c]
      Lead: [Status, Title, Phone]
      Account: [Industry, Phone, Website]
    # merge: [Contact]         # objects whose duplicates it may propose to merge
    max_changes_per_hour: 100
    auto: false                # true: a policy rule naming the agent as proposer may make its changes auto
`

// ForSalesforce rewrites a configuration Default (or DefaultGitHub) wrote
// for the Salesforce connector, with detectors as its detectors: section.
func ForSalesforce(text, detectors string) string {
	crmStart, crmEnd := strings.Index(text, "crm:\n"), strings.Index(text, "forge:\n")
	agents := strings.Index(text, "agents:")
	if crmStart < 0 || crmEnd < crmStart || agents < 0 {
		panic("config: ForSalesforce: the default configuration changed shape") // a constant: caught by its test
	}
	text = text[:agents] + salesforceAgents
	if detectors != "" {
		text = strings.Replace(text, "detectors: {}\n", detectors, 1)
	}
	return text[:crmStart] + salesforceCRM + text[crmEnd:]
}
