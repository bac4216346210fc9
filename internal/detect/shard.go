package detect

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Shard is part I of N of a detection run (1-based), as `crmops detect
// --shard I/N` names it, so that a CI matrix of N jobs splits the work.
// The zero Shard is the whole run.
//
// A shard owns CRM objects, not records: every change a detector proposes
// touches records of one object (a merge's two records included), and
// what the propose step decides for a change depends only on changes to
// records of the same object (open proposals, the records a run already
// touches, the order detectors run in). So a shard that runs every
// detector's work on its objects, in the order an unsharded run does,
// plans exactly the batches that run plans for those objects, and the
// union of the shards' batches is the unsharded run's. Splitting one
// object's records between shards would not: dedupe must see them all to
// train its model and cluster, and the batches' packing and a run's
// limits.max_auto_changes_per_run would depend on the split.
type Shard struct{ I, N int }

// ParseShard reads I/N, e.g. 1/2.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, errI := strconv.Atoi(a)
	n, errN := strconv.Atoi(b)
	if !ok || errI != nil || errN != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %q: want I/N with 1 <= I <= N, e.g. 1/2 (the first of two)", s)
	}
	return Shard{I: i, N: n}, nil
}

// Whole says the shard is the whole run.
func (s Shard) Whole() bool { return s.N <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Unit is one detector's work on one object.
type Unit struct {
	Detector string
	Object   string
	// Settings are the detector's settings narrowed to Object: a detector
	// of several objects (dedupe's objects:) built from them reads Object
	// alone.
	Settings *yaml.Node
	// Narrowed says Settings are not the detector's own: the detector is
	// built from them for this unit.
	Narrowed bool
}

// defaultObject is the object a detector without object: reads (each
// detector package documents contacts as its default), and
// defaultObjects those of a detector of several objects without objects:.
// The detect package cannot import the detectors (they import it); the
// shard tests check these against the detectors themselves.
const defaultObject = "contacts"

var defaultObjects = map[string][]string{"dedupe": {"contacts", "companies"}}

// Units splits detector name's settings into one unit per object it
// reads, in the order the detector reads them.
func Units(name string, settings *yaml.Node) []Unit {
	if settings == nil || settings.Kind != yaml.MappingNode {
		return []Unit{{Detector: name, Object: defaultObject, Settings: settings}}
	}
	if v := value(settings, "object"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
		return []Unit{{Detector: name, Object: v.Value, Settings: settings}}
	}
	objects := defaultObjects[name]
	if v := value(settings, "objects"); v != nil {
		objects = nil
		for _, o := range v.Content {
			if v.Kind != yaml.SequenceNode || o.Kind != yaml.ScalarNode {
				// Not a list of names: the detector refuses it when built.
				return []Unit{{Detector: name, Object: defaultObject, Settings: settings}}
			}
			objects = append(objects, o.Value)
		}
	}
	if len(objects) == 0 {
		return []Unit{{Detector: name, Object: defaultObject, Settings: settings}}
	}
	if len(objects) == 1 && value(settings, "objects") != nil {
		return []Unit{{Detector: name, Object: objects[0], Settings: settings}}
	}
	units := make([]Unit, len(objects))
	for i, obj := range objects {
		units[i] = Unit{Detector: name, Object: obj, Settings: narrow(settings, obj, objects), Narrowed: true}
	}
	return units
}

// narrow returns settings with objects: [obj] and without the sections of
// the other objects (a section of an object not deduplicated is refused as
// a misspelt key).
func narrow(settings *yaml.Node, obj string, objects []string) *yaml.Node {
	n := *settings
	n.Content = nil
	seen := false
	for i := 0; i+1 < len(settings.Content); i += 2 {
		k, v := settings.Content[i], settings.Content[i+1]
		switch {
		case k.Value == "objects":
			seen = true
			v = objectList(v, obj)
		case k.Value != obj && slices.Contains(objects, k.Value):
			continue
		}
		n.Content = append(n.Content, k, v)
	}
	if !seen {
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "objects", Line: settings.Line, Column: settings.Column}
		n.Content = append(n.Content, key, objectList(key, obj))
	}
	return &n
}

// objectList is a one-name list standing where at stood in crmops.yaml.
func objectList(at *yaml.Node, obj string) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: at.Line, Column: at.Column,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: obj, Line: at.Line, Column: at.Column}}}
}

func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ShardPlan is what one shard of a run does.
type ShardPlan struct {
	// Units are the shard's work, in the order an unsharded run does it:
	// by detector as named, then by object as the detector reads them.
	Units []Unit
	// Objects are every object the run's detectors read, sorted; Owned
	// those the shard owns.
	Objects, Owned []string
}

// Plan splits the run of the named detectors (settings gives each one's
// settings) into shards and returns shard s's part. The objects, sorted,
// are dealt round-robin: object k belongs to shard k mod N + 1. Every
// shard of a run must be given the same names and settings (one commit's
// crmops.yaml, one --detector list): the shards then own disjoint objects
// whose union is every object.
func Plan(names []string, settings func(name string) *yaml.Node, s Shard) ShardPlan {
	var all []Unit
	for _, name := range names {
		all = append(all, Units(name, settings(name))...)
	}
	var p ShardPlan
	for _, u := range all {
		if !slices.Contains(p.Objects, u.Object) {
			p.Objects = append(p.Objects, u.Object)
		}
	}
	slices.Sort(p.Objects)
	owned := map[string]bool{}
	for k, obj := range p.Objects {
		if s.Whole() || k%s.N == s.I-1 {
			owned[obj] = true
			p.Owned = append(p.Owned, obj)
		}
	}
	for _, u := range all {
		if owned[u.Object] {
			p.Units = append(p.Units, u)
		}
	}
	return p
}
