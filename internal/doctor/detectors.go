package doctor

import (
	"errors"
	"fmt"
	"github.com/crmops/crmops/internal/crm"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/strictyaml"
)

// Detector is one entry under detectors: in crmops.yaml.
type Detector struct {
	Name string
	// Line is the line of the entry's key.
	Line     int
	Settings *yaml.Node
}

// Detectors lists the entries of detectors: in the order the file has
// them, each with the line of its key. src is the file's content (only its
// lines are read from it); settings are the entries as config.Parse decoded
// them (config.Config.Detectors), whose nodes are the ones returned. An
// entry whose key src does not show (src unreadable, or changed since) is
// put at fallback, the line of detectors: itself.
func Detectors(src []byte, settings map[string]yaml.Node, fallback int) []Detector {
	var out []Detector
	seen := map[string]bool{}
	for _, k := range detectorKeys(src) {
		n, ok := settings[k.Value]
		if !ok || seen[k.Value] {
			continue
		}
		seen[k.Value] = true
		out = append(out, Detector{Name: k.Value, Line: k.Line, Settings: &n})
	}
	var rest []string
	for name := range settings {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		n := settings[name]
		out = append(out, Detector{Name: name, Line: fallback, Settings: &n})
	}
	return out
}

// detectorKeys returns the key nodes of the mapping under detectors: in
// src, or nil.
func detectorKeys(src []byte) []*yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "detectors" {
			continue
		}
		v := top.Content[i+1]
		if v.Kind != yaml.MappingNode {
			return nil
		}
		var keys []*yaml.Node
		for j := 0; j+1 < len(v.Content); j += 2 {
			keys = append(keys, v.Content[j])
		}
		return keys
	}
	return nil
}

// Builder builds the detector called name from its settings, decoding them
// strictly, as detect would (detectors.New). It must read no input file.
type Builder func(name string, settings *yaml.Node) error

// ValidateDetectors builds every detector in list, and returns the first
// error: an unknown name at its key's line with the names this build knows
// (and the likely one meant), or what building the detector said about
// its settings. file names crmops.yaml in errors.
func ValidateDetectors(file string, list []Detector, known []string, build Builder) error {
	for _, d := range list {
		if !slices.Contains(known, d.Name) {
			msg := fmt.Sprintf("unknown detector (known: %s)", strings.Join(known, ", "))
			if s := Suggest(d.Name, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return &strictyaml.Error{File: file, Line: d.Line, Key: "detectors." + d.Name, Msg: msg}
		}
		if err := build(d.Name, d.Settings); err != nil {
			return err
		}
	}
	return nil
}

// Suggest returns the name in known that name is a near miss of (another
// case or separator, a plural, a typo or two away), or "": the same
// judgement crmops makes of object names.
func Suggest(name string, known []string) string { return crm.SuggestObject(name, known) }

// Input is an input file a detector's settings name.
type Input struct {
	// Key is the settings key naming it, e.g. detectors.enrichment.input.
	Key  string
	Line int
	Path string
}

// Inputs finds the input files in the detectors' settings: every key
// input: holding a file name, at any depth (enrichment.input,
// email_verification.input, lifecycle.events.input, lifecycle.scores.input,
// owner.owners.input).
func Inputs(list []Detector) []Input {
	var out []Input
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				kp := path + "." + k.Value
				if k.Value == "input" && v.Kind == yaml.ScalarNode && v.Tag != "!!null" && strings.TrimSpace(v.Value) != "" {
					out = append(out, Input{Key: kp, Line: k.Line, Path: v.Value})
					continue
				}
				walk(v, kp)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	for _, d := range list {
		if d.Settings != nil {
			walk(d.Settings, "detectors."+d.Name)
		}
	}
	return out
}

// Stat reports whether a detector's input file (a path as the settings
// give it) can be read: nil, or an error wrapping fs.ErrNotExist for a
// missing one.
type Stat func(path string) (fs.FileInfo, error)

// CheckInputs checks that every detector input file exists and is a file.
// A missing one is reported at the crmops.yaml key naming it, e.g.
// crmops.yaml:12: detectors.enrichment.input: data/clay.csv: no such file.
func CheckInputs(file string, inputs []Input, stat Stat) Check {
	if len(inputs) == 0 {
		return Pass(NameInputs, "no detector reads an input file")
	}
	var problems []string
	for _, in := range inputs {
		fi, err := stat(in.Path)
		what := ""
		switch {
		case errors.Is(err, fs.ErrNotExist):
			what = "no such file"
		case err != nil:
			what = errText(unwrapPath(err))
		case fi.IsDir():
			what = "is a directory, not a file"
		default:
			continue
		}
		problems = append(problems, (&strictyaml.Error{File: file, Line: in.Line, Key: in.Key, Msg: in.Path + ": " + what}).Error())
	}
	if len(problems) > 0 {
		return Fail(NameInputs, "%s", strings.Join(problems, "; "))
	}
	paths := make([]string, len(inputs))
	for i, in := range inputs {
		paths[i] = in.Path
	}
	return Pass(NameInputs, "%s", strings.Join(paths, ", "))
}

// unwrapPath drops the absolute path fs.PathError puts in its message: the
// detail names the file as the settings do.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
