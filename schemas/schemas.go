// Package schemas holds the JSON Schemas (draft 2020-12) of crmops' files,
// the *.schema.json beside this file, embedded in the binary so that
// crmops init copies them into every change-request repository it
// scaffolds: each file crmops writes names its schema by a path relative
// to itself (proposals/2026-11/<id>.yaml → ../../schemas/batch.schema.json),
// which editors resolve in the checkout, offline. Package internal/schema
// names them and computes those paths.
package schemas

import "embed"

// FS holds every *.schema.json of this directory, at its file name.
//
//go:embed *.schema.json
var FS embed.FS
