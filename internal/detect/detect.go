// Package detect holds what every detector shares. A detector reads the CRM
// through crm.Connector (so it works on the embedded CRM and on HubSpot
// alike) and, where it has one, an input file, and emits proposed changes
// with an honest confidence, source, trigger and reason. Detectors know
// nothing of git or policy: the propose step splits their output into auto
// and review batches, and skips records with open proposals and changes
// that were rejected before.
package detect

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Detector finds changes worth proposing.
type Detector interface {
	// Name is the detector's name in crmops.yaml and in batch files.
	Name() string
	// Detect reads the CRM (and its input) and returns proposed changes.
	// Changes leave ID empty; the planner assigns ids per batch.
	Detect(ctx context.Context, env Env) (*Result, error)
}

// Env is what a detector may use.
type Env struct {
	CRM crm.Connector
	// Dir is the repository root; input paths in settings are relative to it.
	Dir string
	// Progress receives progress updates for long runs; never nil.
	Progress Progress
}

// Path resolves a settings path against the repository root.
func (e Env) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.Dir, p)
}

// Progress reports how far a long run is. Done is called with the count so
// far; total is 0 when unknown.
type Progress interface {
	Step(stage string, done, total int)
}

// NoProgress discards progress.
type NoProgress struct{}

// Step implements Progress.
func (NoProgress) Step(string, int, int) {}

// Result is a detector's output.
type Result struct {
	Changes []batch.Change
	// Skipped lists bad input rows, each reported and left out; the rest
	// of the input still counts.
	Skipped []Problem
}

// Problem is one input row a detector could not use.
type Problem struct {
	File   string
	Line   int
	Reason string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return p.File + ": " + p.Reason
}

// Summary writes how many rows were skipped and why, grouped by reason.
func (r *Result) Summary(w io.Writer, name string) {
	if len(r.Skipped) == 0 {
		return
	}
	counts := map[string]int{}
	var order []string
	for _, p := range r.Skipped {
		if counts[p.Reason] == 0 {
			order = append(order, p.Reason)
		}
		counts[p.Reason]++
	}
	fmt.Fprintf(w, "%s: skipped %d input row(s):", name, len(r.Skipped))
	for _, reason := range order {
		fmt.Fprintf(w, " %d %s;", counts[reason], reason)
	}
	fmt.Fprintln(w)
}

// DecodeSettings strictly decodes a detector's settings node from
// crmops.yaml into v, with errors at their lines under detectors.<name>.
func DecodeSettings(file, name string, n *yaml.Node, v any) error {
	if n == nil || n.Kind == 0 {
		return fmt.Errorf("%s: detectors.%s: no settings; see the README for this detector's keys", file, name)
	}
	return strictyaml.DecodeNode(file, "detectors."+name, n, v)
}
