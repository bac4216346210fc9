// Package batch holds crmops' file formats for proposed changes: the batch,
// its receipt and its rejection record. Decoding is strict and every error
// names file, line and key; encoding is canonical (fixed key order) so that a
// re-encoded file produces no diff and reviews stay small.
package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/schema"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Version is the only format version this build reads and writes.
const Version = 1

// Operations a change can perform.
const (
	OpSet   = "set"
	OpMerge = "merge"
	// OpUnmerge undoes a merge: the merged-away record (merge_from) is made
	// a separate record again with its snapshot. Only revert proposes it.
	OpUnmerge = "unmerge"
)

// Kinds of change, one per scenario crmops automates, plus custom.
var Kinds = []string{"enrichment", "dedupe", "lifecycle", "owner", "email_verification", "custom"}

// Triggers say what made a detector propose a change.
var Triggers = []string{"event", "score", "rule", "import", "manual"}

// File-name suffixes under proposals/. Batches are found by suffix anywhere
// below the directory so that users may shard it into sub-folders.
const (
	Dir             = "proposals"
	ReceiptSuffix   = ".receipt.yaml"
	RejectionSuffix = ".rejected.yaml"
	batchSuffix     = ".yaml"
)

// Batch is one set of proposed changes, reviewed and merged as a unit.
type Batch struct {
	Version  int       `yaml:"version" strict:"required"`
	ID       string    `yaml:"batch" strict:"required"`
	Created  time.Time `yaml:"created" strict:"required"`
	Detector string    `yaml:"detector" strict:"required"`
	Title    string    `yaml:"title"`
	// Review, when set, says why the batch needs a person's approval even if
	// the policy would apply every change automatically (e.g. a run limit).
	Review string `yaml:"review,omitempty"`
	// Agent names the AI agent the batch was proposed through (crmops mcp
	// --agent), written by the server, never by the agent. It can only make
	// a batch less trusted: the policy must name the agent as well as trust
	// the forge's author before any of its changes is auto.
	Agent   string   `yaml:"agent,omitempty"`
	Changes []Change `yaml:"changes" strict:"required"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Change is one proposed change to one CRM record.
type Change struct {
	ID         string            `yaml:"id"`
	Kind       string            `yaml:"kind" strict:"required"`
	Object     string            `yaml:"object" strict:"required"`
	Record     string            `yaml:"record" strict:"required"`
	Op         string            `yaml:"op" strict:"required"`
	Field      string            `yaml:"field"`
	Before     string            `yaml:"before"`
	After      string            `yaml:"after"`
	MergeFrom  string            `yaml:"merge_from"`
	Source     string            `yaml:"source" strict:"required"`
	Confidence float64           `yaml:"confidence" strict:"required"`
	Trigger    string            `yaml:"trigger"`
	Reason     string            `yaml:"reason"`
	Snapshot   map[string]string `yaml:"snapshot"`
	// SurvivorSnapshot is, for a merge, the survivor's fields at detection
	// time: with Snapshot, what a reviewer compares side by side.
	SurvivorSnapshot map[string]string `yaml:"survivor_snapshot"`
	// Follows names the merge (a change id earlier in the batch) whose
	// survivor this set finishes: the value survivorship keeps. It runs
	// only when that merge ran, and is reviewed, dropped and rejected with it.
	Follows string `yaml:"follows"`

	Pos strictyaml.Pos `yaml:"-"`
}

// TwoRecords reports an op on a pair of records (survivor and merge_from)
// rather than on one field.
func (c Change) TwoRecords() bool { return c.Op == OpMerge || c.Op == OpUnmerge }

// Target names what a change touches, for conflict checks and audit.
func (c Change) Target() string {
	if c.Op == OpUnmerge {
		return c.Object + "/" + c.MergeFrom + " <- " + c.Record
	}
	if c.Op == OpMerge {
		return c.Object + "/" + c.MergeFrom + " -> " + c.Record
	}
	return c.Object + "/" + c.Record + "." + c.Field
}

// Touches reports whether the change affects object/record, as survivor,
// merged record or edited record.
func (c Change) Touches(object, record string) bool {
	return c.Object == object && (c.Record == record || (c.TwoRecords() && c.MergeFrom == record))
}

// MarshalYAML writes a change in canonical key order with only the keys its
// op uses: `before: ""` must appear for a set (it is the compare-and-swap
// guard), and must not appear for a merge.
func (c Change) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v any) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, valueNode(v))
	}
	add("id", c.ID)
	add("kind", c.Kind)
	add("object", c.Object)
	add("record", c.Record)
	add("op", c.Op)
	if c.TwoRecords() {
		add("merge_from", c.MergeFrom)
	} else {
		add("field", c.Field)
		add("before", c.Before)
		add("after", c.After)
	}
	add("source", c.Source)
	add("confidence", c.Confidence)
	if c.Trigger != "" {
		add("trigger", c.Trigger)
	}
	if c.Reason != "" {
		add("reason", c.Reason)
	}
	if len(c.Snapshot) > 0 {
		add("snapshot", c.Snapshot)
	}
	if len(c.SurvivorSnapshot) > 0 {
		add("survivor_snapshot", c.SurvivorSnapshot)
	}
	if c.Follows != "" {
		add("follows", c.Follows)
	}
	return m, nil
}

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	objectPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	fieldPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)
	agentPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
)

// reservedIDEndings end names that mean something else: the file roles
// beside a batch (its receipt, its rejection), file endings, and names git
// refuses for branches. An id ending in one would be read as another file's
// role (a batch "B.receipt" would be batch B's receipt) or could not be a
// branch.
var reservedIDEndings = []string{".receipt", ".rejected", ".yaml", ".yml", ".lock", ".tmp", ".partial", "."}

// ValidID reports whether id can name a batch: it becomes a file name and a
// git branch, so it is kept to a safe alphabet, and it never ends in a
// name another file's role uses. This is the one id check: every reader of
// ids (decoding, listing files, forges, apply) goes through it.
func ValidID(id string) bool {
	if !idPattern.MatchString(id) || strings.Contains(id, "..") {
		return false
	}
	lower := strings.ToLower(id)
	for _, end := range reservedIDEndings {
		if strings.HasSuffix(lower, end) {
			return false
		}
	}
	return true
}

// ValidObject reports whether name can be a CRM object name: letters,
// digits and _, starting with a letter, as HubSpot's (contacts) and
// Salesforce's API names (Contact, Invoice__c) are. It is the rule a
// change's object is validated by, so anything else that accepts object
// names can refuse a name no batch could ever change.
func ValidObject(name string) bool { return objectPattern.MatchString(name) }

// ValidField reports whether name can be a CRM field (property) name.
func ValidField(name string) bool { return fieldPattern.MatchString(name) }

// ValidAgent reports whether name can name an MCP agent: lower case, so
// that a policy's proposer and an agents: entry cannot differ by case
// alone, and without the "[bot]" of a forge's automation logins.
func ValidAgent(name string) bool { return agentPattern.MatchString(name) }

// IDFromPath returns the batch id a batch file's name implies.
func IDFromPath(p string) string { return strings.TrimSuffix(path.Base(p), batchSuffix) }

// Path is where a batch with id lives in the repository. Batches whose id
// starts with crmops' timestamp go into a folder per month, so no folder
// grows past what GitHub lists (1,000 entries) and each commit rewrites a
// small tree instead of one holding every batch ever proposed.
func Path(id string) string {
	if t, err := time.Parse("20060102T150405Z", strings.SplitN(id, "-", 2)[0]); err == nil {
		return Dir + "/" + t.Format("2006-01") + "/" + id + batchSuffix
	}
	return Dir + "/" + id + batchSuffix
}

// ReceiptPath is the receipt beside the batch file at batchPath.
func ReceiptPath(batchPath string) string {
	return strings.TrimSuffix(batchPath, batchSuffix) + ReceiptSuffix
}

// RejectionPath is the rejection record beside the batch file at batchPath.
func RejectionPath(batchPath string) string {
	return strings.TrimSuffix(batchPath, batchSuffix) + RejectionSuffix
}

// IsBatchFile reports whether p names a batch (not a receipt or rejection)
// with a valid id.
func IsBatchFile(p string) bool {
	return strings.HasSuffix(p, batchSuffix) && !strings.HasSuffix(p, ReceiptSuffix) && !strings.HasSuffix(p, RejectionSuffix) &&
		ValidID(IDFromPath(p))
}

// IDOfFile returns the id of the batch a file below proposals/ belongs to,
// as its batch file, receipt or rejection, or "" when its name names no
// valid batch.
func IDOfFile(p string) string {
	name := path.Base(p)
	for _, suffix := range []string{ReceiptSuffix, RejectionSuffix, batchSuffix} {
		if id, ok := strings.CutSuffix(name, suffix); ok {
			if ValidID(id) {
				return id
			}
			return ""
		}
	}
	return ""
}

// Decode decodes and validates the batch file named file: by the fast path
// when it is in the form Encode writes (see fastBatch), strictly otherwise,
// with the same result either way, Pos included; errors are always the
// strict decoder's.
func Decode(file string, data []byte) (*Batch, error) {
	if !strictOnly {
		if b, ok := fastBatch(file, data); ok {
			return b, nil
		}
	}
	return decodeStrict(file, data)
}

// decodeStrict is Decode by the strict decoder alone.
func decodeStrict(file string, data []byte) (*Batch, error) {
	var b Batch
	if err := strictyaml.Decode(file, data, &b); err != nil {
		return nil, err
	}
	if err := b.Validate(file); err != nil {
		return nil, err
	}
	return &b, nil
}

// Validate checks what strict decoding cannot: enumerations, ranges,
// uniqueness, and the batch id against its file name (when file is set).
func (b *Batch) Validate(file string) error {
	if b.Version != Version {
		return b.Pos.Errorf(file, "version", "unsupported version %d (this crmops reads version %d)", b.Version, Version)
	}
	if !ValidID(b.ID) {
		return b.Pos.Errorf(file, "batch", "%q is not a valid batch id (letters, digits, '.', '_', '-'; not ending in .receipt, .rejected, .lock, .yaml or another file's role)", b.ID)
	}
	if file != "" && IDFromPath(file) != b.ID {
		return b.Pos.Errorf(file, "batch", "batch id %q differs from the file name %q", b.ID, path.Base(file))
	}
	if b.Detector == "" {
		return b.Pos.Errorf(file, "detector", "must not be empty")
	}
	if b.Agent != "" && !ValidAgent(b.Agent) {
		return b.Pos.Errorf(file, "agent", "%q is not a valid agent name (lower case letters, digits, '.', '_', '-')", b.Agent)
	}
	if len(b.Changes) == 0 {
		return b.Pos.Errorf(file, "changes", "a batch needs at least one change")
	}
	seen := map[string]int{}
	for i := range b.Changes {
		c := &b.Changes[i]
		if c.Pos.Path == "" {
			c.Pos.Path = fmt.Sprintf("changes[%d]", i)
		}
		if c.Pos.Line > 0 && !c.Pos.Has("id") {
			return c.Pos.Errorf(file, "id", "missing required key")
		}
		if err := c.Validate(file); err != nil {
			return err
		}
		if first, dup := seen[c.ID]; dup {
			return c.Pos.Errorf(file, "id", "duplicate change id %q (first used at changes[%d])", c.ID, first)
		}
		if c.Follows != "" {
			at, ok := seen[c.Follows]
			switch {
			case !ok:
				return c.Pos.Errorf(file, "follows", "%q names no change before this one", c.Follows)
			case b.Changes[at].Op != OpMerge:
				return c.Pos.Errorf(file, "follows", "%q is not a merge", c.Follows)
			case b.Changes[at].Object != c.Object || b.Changes[at].Record != c.Record:
				return c.Pos.Errorf(file, "follows", "merge %q keeps %s/%s; a set that follows it changes that survivor, not %s/%s",
					c.Follows, b.Changes[at].Object, b.Changes[at].Record, c.Object, c.Record)
			}
		}
		seen[c.ID] = i
	}
	return nil
}

// Followers returns the ids of the changes that follow the merge with id
// mergeID (its survivorship sets), in batch order.
func (b *Batch) Followers(mergeID string) []string {
	var out []string
	for _, c := range b.Changes {
		if c.Follows == mergeID {
			out = append(out, c.ID)
		}
	}
	return out
}

// Validate checks one change; file is used in error messages only.
func (c *Change) Validate(file string) error {
	bad := func(key, format string, args ...any) error { return c.Pos.Errorf(file, key, format, args...) }
	switch {
	case !ValidID(c.ID):
		return bad("id", "%q is not a valid change id", c.ID)
	case !contains(Kinds, c.Kind):
		return bad("kind", "unknown kind %q (one of %s)", c.Kind, strings.Join(Kinds, ", "))
	case !ValidObject(c.Object):
		return bad("object", "%q is not a valid object name (letters, digits, _)", c.Object)
	case strings.TrimSpace(c.Record) == "" || strings.ContainsAny(c.Record, "/\n\r"):
		return bad("record", "%q is not a valid record id", c.Record)
	case c.Source == "":
		return bad("source", "must not be empty")
	case c.Confidence < 0 || c.Confidence > 1 || c.Confidence != c.Confidence:
		return bad("confidence", "%v is outside 0..1", c.Confidence)
	case c.Trigger != "" && !contains(Triggers, c.Trigger):
		return bad("trigger", "unknown trigger %q (one of %s)", c.Trigger, strings.Join(Triggers, ", "))
	}
	switch c.Op {
	case OpSet:
		for _, k := range []string{"field", "before", "after"} {
			if c.Pos.Line > 0 && !c.Pos.Has(k) {
				return bad(k, "missing required key for op set")
			}
		}
		if c.Pos.Has("merge_from") || c.MergeFrom != "" {
			return bad("merge_from", "only op merge takes merge_from")
		}
		if !ValidField(c.Field) {
			return bad("field", "%q is not a valid field name", c.Field)
		}
		if c.Before == c.After {
			return bad("after", "equals before (%q): the change would do nothing", c.After)
		}
		if c.Kind == "dedupe" && c.Follows == "" {
			return bad("op", "a dedupe change is op merge, or a set that follows one (follows: <id of the merge>)")
		}
	case OpMerge, OpUnmerge:
		for _, k := range []string{"field", "before", "after"} {
			if c.Pos.Has(k) {
				return bad(k, "op %s does not take %s", c.Op, k)
			}
		}
		if c.Field != "" || c.Before != "" || c.After != "" {
			return bad("op", "op %s does not take field, before or after", c.Op)
		}
		if c.Op == OpUnmerge && c.Kind != "dedupe" {
			return bad("kind", "op unmerge is kind dedupe")
		}
		if strings.TrimSpace(c.MergeFrom) == "" || strings.ContainsAny(c.MergeFrom, "/\n\r") {
			return bad("merge_from", "merge needs the id of the record merged away")
		}
		if c.MergeFrom == c.Record {
			return bad("merge_from", "a record cannot be merged into itself")
		}
		if c.Pos.Has("follows") || c.Follows != "" {
			return bad("follows", "only a set follows a merge")
		}
	default:
		return bad("op", "unknown op %q (set, merge or unmerge)", c.Op)
	}
	if c.Op != OpMerge && (c.Pos.Has("survivor_snapshot") || len(c.SurvivorSnapshot) > 0) {
		return bad("survivor_snapshot", "only a merge has a survivor")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SchemaBase is where the JSON Schemas of crmops' files are published.
// Files crmops writes do not point there but into the repository's own
// schemas/ (crmops init copies them there), which works offline and
// matches the crmops that wrote them; see SchemaComment.
const SchemaBase = schema.BaseURL

// SchemaComment is the yaml-language-server comment that names the schema
// file for the file at the repository-relative path file, by a path
// relative to it: "../../schemas/batch.schema.json" for
// proposals/2026-11/<id>.yaml.
func SchemaComment(file, schemaName string) string {
	return schema.Comment(file, schemaName) + "\n"
}

// Encode writes v (a Batch, Receipt or Rejection) canonically, after the
// comment that lets editors validate and complete it, for the file where
// crmops puts it: Path of its batch id, and the receipt or rejection
// beside that. A file elsewhere (proposals/ sharded by hand) is EncodeAt.
func Encode(v any) ([]byte, error) { return EncodeAt(defaultFile(v), v) }

// defaultFile is where crmops puts v's file.
func defaultFile(v any) string {
	switch v := v.(type) {
	case Batch:
		return Path(v.ID)
	case *Batch:
		if v != nil {
			return Path(v.ID)
		}
	case Receipt:
		return ReceiptPath(Path(v.Batch))
	case *Receipt:
		if v != nil {
			return ReceiptPath(Path(v.Batch))
		}
	case Rejection:
		return RejectionPath(Path(v.Batch))
	case *Rejection:
		if v != nil {
			return RejectionPath(Path(v.Batch))
		}
	}
	return "" // not a file of this package: no comment
}

// NewID names a batch from its creation time, its detector and a hash of its
// changes, so ids sort by time and two different batches never collide.
func NewID(created time.Time, detector string, changes []Change) string {
	h := sha256.New()
	for _, c := range changes {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\n", c.Kind, c.Object, c.Record, c.Op, c.Field, c.Before, c.After, c.MergeFrom)
	}
	slug := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, detector)
	if len(slug) > 40 {
		slug = slug[:40]
	}
	return created.UTC().Format("20060102T150405Z") + "-" + strings.Trim(slug, "-") + "-" + hex.EncodeToString(h.Sum(nil))[:6]
}
