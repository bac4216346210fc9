package batch

import (
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/strictyaml"
)

// Every reader of proposals/ (simulate's replay, review list --all, audit,
// apply, check) decodes every batch and receipt there, a hundred thousand
// changes and more, and strict decoding is most of the cost: yaml.v3's
// tokenizer, then a walk of the tree by reflection (5,000 batches of 20
// changes: about 3 s on two cores). Decode and DecodeReceipt first try a
// fast path for the files crmops writes, in two steps:
//
//   - canonical parses the narrow form Encode writes into the tree yaml.v3
//     would build, lines included, without its tokenizer;
//   - fastBatch and fastReceipt walk that tree by hand into the same
//     structs, with the same Pos (lines, key paths, keys present), and
//     then check what the strict decoder and Validate check.
//
// Either step gives up on anything unusual, and then the strict decoder
// decodes the file and has the last word, with its file:line: key error.
// A file the fast path accepts is one the strict decoder accepts, with an
// identical value, Pos included. Tests and a fuzz target
// (FuzzDecodeAgreesWithStrict) hold the trees and the results to each other.

// strictOnly turns the fast path off (for tests and benchmarks).
var strictOnly = false

// plain reports a node without anchors, aliases or explicit tags (which the
// strict decoder refuses, or reads in ways the fast path does not follow).
func plain(n *yaml.Node) bool {
	return n.Kind != yaml.AliasNode && n.Anchor == "" && n.Style&yaml.TaggedStyle == 0
}

// fields walks a mapping node: every key must be a plain scalar among
// known (the strict decoder refuses others), used once, and fn must accept
// its value. It returns the keys seen as a bit set in known's order and,
// when pos is set, fills it with the Pos the strict decoder would leave at
// path: the mapping's line and each key's.
func fields(n *yaml.Node, known []string, pos *strictyaml.Pos, path string, fn func(i int, v *yaml.Node) bool) (uint32, bool) {
	if n.Kind != yaml.MappingNode || !plain(n) {
		return 0, false
	}
	var lines map[string]int
	if pos != nil {
		lines = make(map[string]int, len(n.Content)/2)
	}
	var seen uint32
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !plain(k) || !plain(v) {
			return 0, false
		}
		idx := -1
		for j, name := range known {
			if name == k.Value {
				idx = j
				break
			}
		}
		if idx < 0 || seen&(1<<idx) != 0 || !fn(idx, v) {
			return 0, false
		}
		seen |= 1 << idx
		if lines != nil {
			lines[k.Value] = k.Line
		}
	}
	if pos != nil {
		*pos = strictyaml.NewPos(n.Line, path, lines)
	}
	return seen, true
}

// itemPath is the key path of a sequence's item, as the strict decoder
// writes it.
func itemPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// has reports whether every key index in want was seen.
func has(seen uint32, want ...int) bool {
	for _, i := range want {
		if seen&(1<<i) == 0 {
			return false
		}
	}
	return true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// str reads a string as the strict decoder does: any scalar's text, and
// null as "".
func str(n *yaml.Node, out *string) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if !isNull(n) {
		*out = n.Value
	}
	return true
}

// number reads a float: an int or float scalar, decoded by yaml.v3 as the
// strict decoder has it decoded.
func number(n *yaml.Node, out *float64) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if isNull(n) {
		return true
	}
	switch {
	case n.Tag == "!!int" && isInt(n.Value), n.Tag == "!!float" && isDecimal(n.Value):
		// What yaml.v3 does for these, without a decoder per value:
		// strconv on the same text.
		f, err := strconv.ParseFloat(n.Value, 64)
		*out = f
		return err == nil
	case n.Tag != "!!float" && n.Tag != "!!int":
		return false
	}
	return n.Decode(out) == nil
}

// integer reads an int: an int scalar only.
func integer(n *yaml.Node, out *int) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if isNull(n) {
		return true
	}
	if n.Tag != "!!int" {
		return false
	}
	if isInt(n.Value) {
		i, err := strconv.Atoi(n.Value)
		*out = i
		return err == nil
	}
	return n.Decode(out) == nil
}

// timestamp reads a time: a scalar yaml.v3 decodes into a time.Time.
func timestamp(n *yaml.Node, out *time.Time) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if isNull(n) {
		return true
	}
	if n.Tag == "!!timestamp" && isTimestamp(n.Value) {
		// yaml.v3 parses a timestamp with the first of its layouts that
		// fits; this is the first.
		t, err := time.Parse("2006-1-2T15:4:5.999999999Z07:00", n.Value)
		*out = t
		return err == nil
	}
	return n.Decode(out) == nil
}

// list reads a sequence (null is an empty, nil list) with one call of fn
// per item.
func list(n *yaml.Node, fn func(i int, item *yaml.Node) bool) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		return false
	}
	for i, item := range n.Content {
		if !plain(item) || !fn(i, item) {
			return false
		}
	}
	return true
}

// texts reads a list of strings (null is a nil list).
func texts(n *yaml.Node, out *[]string) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		return false
	}
	s := make([]string, len(n.Content))
	*out = s
	return list(n, func(i int, item *yaml.Node) bool { return str(item, &s[i]) })
}

// dict reads a map of strings as the strict decoder does (null is a nil
// map; a key used twice is refused).
func dict(n *yaml.Node, out *map[string]string) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		return false
	}
	m := make(map[string]string, len(n.Content)/2)
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k], n.Content[k+1]
		if !plain(key) || !plain(val) || key.Kind != yaml.ScalarNode {
			return false
		}
		if _, dup := m[key.Value]; dup {
			return false
		}
		var s string
		if !str(val, &s) {
			return false
		}
		m[key.Value] = s
	}
	*out = m
	return true
}

// Keys in the order of the structs' fields; the strict-required ones are
// checked by index after the walk (the strict decoder refuses a mapping
// without them), the rest of what Validate checks by Validate itself, on
// the same Pos.
var batchKeys = []string{"version", "batch", "created", "detector", "title", "review", "agent", "changes"}

var changeKeys = []string{"id", "kind", "object", "record", "op", "field", "before", "after", "merge_from", "source", "confidence", "trigger", "reason", "snapshot", "survivor_snapshot", "follows"}

// fastBatch decodes and validates a batch file as Decode does, or reports
// false.
func fastBatch(file string, data []byte) (*Batch, bool) {
	root, ok := canonical(data)
	if !ok {
		return nil, false
	}
	b := &Batch{}
	seen, ok := fields(root, batchKeys, &b.Pos, "", func(i int, v *yaml.Node) bool {
		switch i {
		case 0:
			return integer(v, &b.Version)
		case 1:
			return str(v, &b.ID)
		case 2:
			return timestamp(v, &b.Created)
		case 3:
			return str(v, &b.Detector)
		case 4:
			return str(v, &b.Title)
		case 5:
			return str(v, &b.Review)
		case 6:
			return str(v, &b.Agent)
		case 7:
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			b.Changes = make([]Change, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool { return fastChange(item, &b.Changes[j], itemPath("changes", j)) })
		}
		return false
	})
	if !ok || !has(seen, 0, 1, 2, 3, 7) {
		return nil, false
	}
	if b.Validate(file) != nil {
		return nil, false
	}
	return b, true
}

// fastChange decodes one change at path.
func fastChange(n *yaml.Node, c *Change, path string) bool {
	seen, ok := fields(n, changeKeys, &c.Pos, path, func(i int, v *yaml.Node) bool {
		switch i {
		case 0:
			return str(v, &c.ID)
		case 1:
			return str(v, &c.Kind)
		case 2:
			return str(v, &c.Object)
		case 3:
			return str(v, &c.Record)
		case 4:
			return str(v, &c.Op)
		case 5:
			return str(v, &c.Field)
		case 6:
			return str(v, &c.Before)
		case 7:
			return str(v, &c.After)
		case 8:
			return str(v, &c.MergeFrom)
		case 9:
			return str(v, &c.Source)
		case 10:
			return number(v, &c.Confidence)
		case 11:
			return str(v, &c.Trigger)
		case 12:
			return str(v, &c.Reason)
		case 13:
			return dict(v, &c.Snapshot)
		case 14:
			return dict(v, &c.SurvivorSnapshot)
		case 15:
			return str(v, &c.Follows)
		}
		return false
	})
	return ok && has(seen, 1, 2, 3, 4, 9, 10)
}

var receiptKeys = []string{"version", "batch", "approval", "executed_by", "merge_commit", "batch_blob", "modified", "changes"}
var approvalKeys = []string{"mode", "approvers", "policy", "rules", "pull_request", "proposer", "refused"}
var approverKeys = []string{"login", "at"}
var modificationKeys = []string{"commit", "by", "changes"}
var resultKeys = []string{"id", "status", "observed_before", "after", "at", "error"}

// fastReceipt decodes and checks a receipt as DecodeReceipt does, or
// reports false.
func fastReceipt(file string, data []byte) (*Receipt, bool) {
	root, ok := canonical(data)
	if !ok {
		return nil, false
	}
	r := &Receipt{}
	seen, ok := fields(root, receiptKeys, &r.Pos, "", func(i int, v *yaml.Node) bool {
		switch i {
		case 0:
			return integer(v, &r.Version)
		case 1:
			return str(v, &r.Batch)
		case 2:
			return fastApproval(v, &r.Approval)
		case 3:
			return str(v, &r.ExecutedBy)
		case 4:
			return str(v, &r.MergeCommit)
		case 5:
			return str(v, &r.BatchBlob)
		case 6:
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			r.Modified = make([]Modification, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool {
				m := &r.Modified[j]
				seen, ok := fields(item, modificationKeys, &m.Pos, itemPath("modified", j), func(k int, v *yaml.Node) bool {
					switch k {
					case 0:
						return str(v, &m.Commit)
					case 1:
						return str(v, &m.By)
					}
					return texts(v, &m.Changes)
				})
				return ok && has(seen, 0, 1)
			})
		case 7:
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			r.Changes = make([]ChangeResult, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool { return fastResult(item, &r.Changes[j], itemPath("changes", j)) })
		}
		return false
	})
	if !ok || !has(seen, 0, 1, 2, 3) {
		return nil, false
	}
	if r.check(file) != nil {
		return nil, false
	}
	return r, true
}

func fastApproval(n *yaml.Node, a *Approval) bool {
	seen, ok := fields(n, approvalKeys, &a.Pos, "approval", func(i int, v *yaml.Node) bool {
		switch i {
		case 0:
			return str(v, &a.Mode)
		case 1:
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			a.Approvers = make([]Approver, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool {
				ap := &a.Approvers[j]
				seen, ok := fields(item, approverKeys, nil, "", func(k int, v *yaml.Node) bool {
					if k == 0 {
						return str(v, &ap.Login)
					}
					return timestamp(v, &ap.At)
				})
				return ok && has(seen, 0)
			})
		case 2:
			return str(v, &a.Policy)
		case 3:
			return texts(v, &a.Rules)
		case 4:
			return integer(v, &a.PullRequest)
		case 5:
			return str(v, &a.Proposer)
		case 6:
			return str(v, &a.Refused)
		}
		return false
	})
	return ok && has(seen, 0)
}

func fastResult(n *yaml.Node, c *ChangeResult, path string) bool {
	seen, ok := fields(n, resultKeys, &c.Pos, path, func(i int, v *yaml.Node) bool {
		switch i {
		case 0:
			return str(v, &c.ID)
		case 1:
			return str(v, &c.Status)
		case 2:
			return str(v, &c.ObservedBefore)
		case 3:
			return str(v, &c.After)
		case 4:
			return timestamp(v, &c.At)
		case 5:
			return str(v, &c.Error)
		}
		return false
	})
	return ok && has(seen, 0, 1)
}
