package simulate

import (
	"path"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
)

// Replaying history decodes every batch and receipt in the repository, a
// hundred thousand changes and more, and strict decoding is most of the
// cost: yaml.v3's tokenizer, then a walk of the tree by reflection (5,000
// batches of 20 changes: about 3 s on two cores). The fast path reads the
// files crmops writes in two steps:
//
//   - canonical parses the narrow form batch.Encode writes into the tree
//     yaml.v3 would build, without its tokenizer;
//   - fastBatch and fastReceipt walk that tree by hand into the same
//     structs, checking what the strict decoder and batch.Validate check.
//
// Either step gives up on anything unusual, and then the strict decoder
// decodes the file and has the last word, with its file:line: key error.
// A file the fast path accepts is one the strict decoder accepts, with the
// same values; only the Pos fields, unused here, are left empty. Tests and
// a fuzz target hold the trees and the results to each other.

// strictOnly turns the fast path off (for benchmarks).
var strictOnly = false

// decodeBatch is batch.Decode.
func decodeBatch(file string, data []byte) (*batch.Batch, error) {
	if strictOnly {
		return batch.Decode(file, data)
	}
	if b, ok := fastBatch(file, data); ok {
		return b, nil
	}
	return batch.Decode(file, data)
}

// decodeReceipt is batch.DecodeReceipt.
func decodeReceipt(file string, data []byte) (*batch.Receipt, error) {
	if strictOnly {
		return batch.DecodeReceipt(file, data)
	}
	if r, ok := fastReceipt(file, data); ok {
		return r, nil
	}
	return batch.DecodeReceipt(file, data)
}

// plain reports a node without anchors, aliases or explicit tags (which the
// strict decoder refuses, or reads in ways the fast path does not follow).
func plain(n *yaml.Node) bool {
	return n.Kind != yaml.AliasNode && n.Anchor == "" && n.Style&yaml.TaggedStyle == 0
}

// fields walks a mapping node: every key must be a plain scalar among
// known (the strict decoder refuses others), used once, and fn must accept
// its value. It returns the keys seen as a bit set in known's order.
func fields(n *yaml.Node, known []string, fn func(i int, v *yaml.Node) bool) (uint32, bool) {
	if n.Kind != yaml.MappingNode || !plain(n) {
		return 0, false
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
	}
	return seen, true
}

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

var batchKeys = []string{"version", "batch", "created", "detector", "title", "review", "changes", "agent"}

const (
	bVersion = iota
	bBatch
	bCreated
	bDetector
	_
	_
	bChanges
)

var changeKeys = []string{"id", "kind", "object", "record", "op", "field", "before", "after", "merge_from", "source", "confidence", "trigger", "reason", "snapshot"}

const (
	cID = iota
	cKind
	cObject
	cRecord
	cOp
	cField
	cBefore
	cAfter
	cMergeFrom
	cSource
	cConfidence
)

// fastBatch decodes and validates a batch file as batch.Decode does, or
// reports false.
func fastBatch(file string, data []byte) (*batch.Batch, bool) {
	root, ok := canonical(data)
	if !ok {
		return nil, false
	}
	b := &batch.Batch{}
	seen, ok := fields(root, batchKeys, func(i int, v *yaml.Node) bool {
		switch batchKeys[i] {
		case "version":
			return integer(v, &b.Version)
		case "batch":
			return str(v, &b.ID)
		case "created":
			return timestamp(v, &b.Created)
		case "detector":
			return str(v, &b.Detector)
		case "title":
			return str(v, &b.Title)
		case "review":
			return str(v, &b.Review)
		case "agent":
			return str(v, &b.Agent)
		case "changes":
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			b.Changes = make([]batch.Change, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool { return fastChange(item, &b.Changes[j]) })
		}
		return false
	})
	if !ok || !has(seen, bVersion, bBatch, bCreated, bDetector, bChanges) {
		return nil, false
	}
	if b.Validate(file) != nil {
		return nil, false
	}
	return b, true
}

// fastChange decodes one change, with the key checks batch.Validate makes
// from the strict decoder's key index: id present, and the keys of its op.
func fastChange(n *yaml.Node, c *batch.Change) bool {
	seen, ok := fields(n, changeKeys, func(i int, v *yaml.Node) bool {
		switch changeKeys[i] {
		case "id":
			return str(v, &c.ID)
		case "kind":
			return str(v, &c.Kind)
		case "object":
			return str(v, &c.Object)
		case "record":
			return str(v, &c.Record)
		case "op":
			return str(v, &c.Op)
		case "field":
			return str(v, &c.Field)
		case "before":
			return str(v, &c.Before)
		case "after":
			return str(v, &c.After)
		case "merge_from":
			return str(v, &c.MergeFrom)
		case "source":
			return str(v, &c.Source)
		case "confidence":
			return number(v, &c.Confidence)
		case "trigger":
			return str(v, &c.Trigger)
		case "reason":
			return str(v, &c.Reason)
		case "snapshot":
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.MappingNode {
				return false
			}
			m := make(map[string]string, len(v.Content)/2)
			for k := 0; k+1 < len(v.Content); k += 2 {
				key, val := v.Content[k], v.Content[k+1]
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
			c.Snapshot = m
			return true
		}
		return false
	})
	if !ok || !has(seen, cID, cKind, cObject, cRecord, cOp, cSource, cConfidence) {
		return false
	}
	switch c.Op {
	case batch.OpSet:
		return has(seen, cField, cBefore, cAfter) && !has(seen, cMergeFrom)
	case batch.OpMerge:
		return !has(seen, cField) && !has(seen, cBefore) && !has(seen, cAfter)
	}
	return false
}

var receiptKeys = []string{"version", "batch", "approval", "executed_by", "merge_commit", "changes"}
var approvalKeys = []string{"mode", "approvers", "policy", "rules", "pull_request", "refused"}
var approverKeys = []string{"login", "at"}
var resultKeys = []string{"id", "status", "observed_before", "after", "at", "error"}

// fastReceipt decodes and checks a receipt as batch.DecodeReceipt does, or
// reports false.
func fastReceipt(file string, data []byte) (*batch.Receipt, bool) {
	root, ok := canonical(data)
	if !ok {
		return nil, false
	}
	r := &batch.Receipt{}
	seen, ok := fields(root, receiptKeys, func(i int, v *yaml.Node) bool {
		switch receiptKeys[i] {
		case "version":
			return integer(v, &r.Version)
		case "batch":
			return str(v, &r.Batch)
		case "approval":
			return fastApproval(v, &r.Approval)
		case "executed_by":
			return str(v, &r.ExecutedBy)
		case "merge_commit":
			return str(v, &r.MergeCommit)
		case "changes":
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			r.Changes = make([]batch.ChangeResult, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool { return fastResult(item, &r.Changes[j]) })
		}
		return false
	})
	if !ok || !has(seen, 0, 1, 2, 3) {
		return nil, false
	}
	if r.Version != batch.Version {
		return nil, false
	}
	if want := strings.TrimSuffix(path.Base(file), batch.ReceiptSuffix); file != "" && want != r.Batch {
		return nil, false
	}
	switch r.Approval.Mode {
	case batch.ModeAuto, batch.ModeApproved, batch.ModeRefused:
	default:
		return nil, false
	}
	for _, c := range r.Changes {
		switch c.Status {
		case batch.StatusApplied, batch.StatusAlreadyApplied, batch.StatusStale, batch.StatusFailed, batch.StatusSkipped:
		default:
			return nil, false
		}
	}
	return r, true
}

func fastApproval(n *yaml.Node, a *batch.Approval) bool {
	seen, ok := fields(n, approvalKeys, func(i int, v *yaml.Node) bool {
		switch approvalKeys[i] {
		case "mode":
			return str(v, &a.Mode)
		case "approvers":
			if isNull(v) {
				return true
			}
			if v.Kind != yaml.SequenceNode {
				return false
			}
			a.Approvers = make([]batch.Approver, len(v.Content))
			return list(v, func(j int, item *yaml.Node) bool {
				ap := &a.Approvers[j]
				seen, ok := fields(item, approverKeys, func(k int, v *yaml.Node) bool {
					if k == 0 {
						return str(v, &ap.Login)
					}
					return timestamp(v, &ap.At)
				})
				return ok && has(seen, 0)
			})
		case "policy":
			return str(v, &a.Policy)
		case "rules":
			return texts(v, &a.Rules)
		case "pull_request":
			return integer(v, &a.PullRequest)
		case "refused":
			return str(v, &a.Refused)
		}
		return false
	})
	return ok && has(seen, 0)
}

func fastResult(n *yaml.Node, c *batch.ChangeResult) bool {
	seen, ok := fields(n, resultKeys, func(i int, v *yaml.Node) bool {
		switch resultKeys[i] {
		case "id":
			return str(v, &c.ID)
		case "status":
			return str(v, &c.Status)
		case "observed_before":
			return str(v, &c.ObservedBefore)
		case "after":
			return str(v, &c.After)
		case "at":
			return timestamp(v, &c.At)
		case "error":
			return str(v, &c.Error)
		}
		return false
	})
	return ok && has(seen, 0, 1)
}
