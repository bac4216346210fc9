// Package schema names crmops's JSON Schemas (draft 2020-12), kept in
// schemas/ at the repository root, for editors: a YAML file whose first
// line is Comment(...) is checked as it is typed by any editor that runs
// yaml-language-server (VS Code's YAML extension, Neovim, JetBrains).
// The schemas describe what crmops's strict decoders accept; this package's
// tests hold the two to each other.
package schema

// BaseURL is where the schemas are published: the raw files of the
// repository's main branch.
const BaseURL = "https://raw.githubusercontent.com/crmops/crmops/main/schemas/"

// Schema file names, one per file format.
const (
	Batch      = "batch.schema.json"      // proposals/<batch-id>.yaml
	Receipt    = "receipt.schema.json"    // proposals/<batch-id>.receipt.yaml
	Rejection  = "rejection.schema.json"  // proposals/<batch-id>.rejected.yaml
	Policy     = "policy.schema.json"     // policies/*.yaml
	PolicyTest = "policytest.schema.json" // policies/tests/*.yaml
	Config     = "config.schema.json"     // crmops.yaml
)

// URL is the published address of the schema file name.
func URL(name string) string { return BaseURL + name }

// Comment is the first line that ties a YAML file to its schema in
// editors, e.g. "# yaml-language-server: $schema=https://.../batch.schema.json".
func Comment(name string) string { return "# yaml-language-server: $schema=" + URL(name) }
