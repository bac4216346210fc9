// Package schema names crmops's JSON Schemas (draft 2020-12), kept in
// schemas/ at the repository root and embedded in the binary (package
// schemas), for editors: a YAML file whose first line is Comment(...) is
// checked as it is typed by any editor that runs yaml-language-server (VS
// Code's YAML extension, Neovim, JetBrains).
//
// crmops init copies the schemas into schemas/ of the change-request
// repository, and every file crmops writes names its schema by a path
// relative to the file itself, so that the check works in any checkout,
// offline, against the schemas of the crmops that wrote the files. The
// schemas carry no absolute $id for the same reason: the one schema that
// refers to another (batch.schema.json) finds it beside itself.
//
// The schemas describe what crmops's strict decoders accept; this package's
// tests hold the two to each other.
package schema

import (
	"io/fs"
	"path"
	"strings"

	"github.com/crmops/crmops/schemas"
)

// Dir is where the schemas are, relative to the root of a change-request
// repository (and of crmops's own).
const Dir = "schemas"

// BaseURL is where the schemas are published: the raw files of crmops's
// main branch. Files crmops writes do not point there (see Ref); it is for
// a file outside any repository.
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

// Names lists the schema file names.
var Names = []string{Batch, Receipt, Rejection, Policy, PolicyTest, Config}

// URL is the published address of the schema file name.
func URL(name string) string { return BaseURL + name }

// Ref is how the file at the repository-relative path file names schema
// name: the path from the file's directory to schemas/name, e.g.
// "../../schemas/batch.schema.json" for proposals/2026-11/<id>.yaml and
// "schemas/config.schema.json" for crmops.yaml. A path that is not inside
// the repository (absolute, or leading out of it) gets the published URL.
func Ref(file, name string) string {
	file = path.Clean(strings.ReplaceAll(file, `\`, "/"))
	if path.IsAbs(file) || file == "." || file == ".." || strings.HasPrefix(file, "../") {
		return URL(name)
	}
	up := strings.Count(file, "/")
	return strings.Repeat("../", up) + Dir + "/" + name
}

// Comment is the first line that ties the file at the repository-relative
// path file to its schema in editors, e.g. for proposals/2026-11/<id>.yaml
// "# yaml-language-server: $schema=../../schemas/batch.schema.json".
func Comment(file, name string) string { return "# yaml-language-server: $schema=" + Ref(file, name) }

// Files returns the embedded schemas by repository-relative path
// (schemas/batch.schema.json, ...): what crmops init scaffolds.
func Files() map[string][]byte {
	out := map[string][]byte{}
	entries, err := fs.ReadDir(schemas.FS, ".")
	if err != nil {
		panic("schema: the embedded schemas: " + err.Error()) // embedded at build time
	}
	for _, e := range entries {
		data, err := fs.ReadFile(schemas.FS, e.Name())
		if err != nil {
			panic("schema: the embedded schemas: " + err.Error())
		}
		out[Dir+"/"+e.Name()] = data
	}
	return out
}
