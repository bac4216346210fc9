// Package seed generates a large, realistic CRM for benchmarks and demos:
// contacts and companies with the flaws real CRMs have (duplicates in every
// disguise, look-alikes that are different people, empty fields, records
// owned by people who left) and, beside it, the ground truth of which records
// are planted duplicates.
//
// Generation streams: records are built and handed to a Sink in chunks, so
// memory stays flat whether the CRM has a thousand contacts or millions. The
// only state that grows is a few bytes per company and the truth itself.
// Everything depends only on Options: the same options give the same records
// in the same chunks and the same truth.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/crm"
)

// Version changes whenever the generator's output for given Options
// changes, so that caches of generated CRMs can be keyed by it.
const Version = 2

// Objects the generated CRM holds.
const (
	ObjectContacts  = "contacts"
	ObjectCompanies = "companies"
)

// Defaults for zero Options fields.
const (
	DefaultContacts      = 10000
	DefaultDuplicateRate = 0.05
	DefaultChunkSize     = 20000
)

// maxContacts keeps contact ids at seven digits ("1000001".."9999999"), so
// that their byte order, in which CRMs list records, is their numeric order.
const maxContacts = 8999999

// maxCompanies keeps company ids ("c-000001") at a fixed width for the same
// reason.
const maxCompanies = 999999

// Options selects a generated CRM.
type Options struct {
	// Seed selects the data; the same options give the same data.
	Seed int64
	// Contacts is the number of contact records, planted copies included;
	// 0 means DefaultContacts.
	Contacts int
	// Companies is the number of company records, planted copies included;
	// 0 means one company per 20 contacts.
	Companies int
	// DuplicateRate is the share of records that are planted duplicate
	// copies of another record (about a fifth of the duplicated records get
	// two copies, forming groups of three); 0 means DefaultDuplicateRate.
	// It must be below 0.5.
	DuplicateRate float64
	// ChunkSize is the number of records per Sink call; 0 means
	// DefaultChunkSize.
	ChunkSize int
	// Progress, when set, is told how many records of object have been
	// written so far out of total.
	Progress func(object string, done, total int)
}

// Sink receives the generated records, chunk by chunk, companies first. It
// must not keep recs after it returns: the slice is reused.
type Sink interface {
	Upsert(ctx context.Context, object string, recs []crm.Record) error
}

// SinkFunc adapts a function to Sink, e.g. the embedded CRM's Upsert:
//
//	seed.SinkFunc(func(ctx context.Context, object string, recs []crm.Record) error {
//		_, _, err := db.Upsert(ctx, object, recs, "seed")
//		return err
//	})
type SinkFunc func(ctx context.Context, object string, recs []crm.Record) error

// Upsert implements Sink.
func (f SinkFunc) Upsert(ctx context.Context, object string, recs []crm.Record) error {
	return f(ctx, object, recs)
}

// start is when the first contact was created; contacts' created times rise
// with their ids over the following six years.
var start = time.Date(2019, 1, 7, 8, 0, 0, 0, time.UTC)

const span = 6 * 365 * 24 * time.Hour

// Generate streams a CRM for opts into sink and returns its ground truth.
func Generate(ctx context.Context, opts Options, sink Sink) (*Truth, error) {
	if opts.Contacts == 0 {
		opts.Contacts = DefaultContacts
	}
	if opts.Companies == 0 {
		opts.Companies = max(1, opts.Contacts/20)
	}
	if opts.DuplicateRate == 0 {
		opts.DuplicateRate = DefaultDuplicateRate
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	switch {
	case opts.Contacts < 0 || opts.Contacts > maxContacts:
		return nil, fmt.Errorf("seed: contacts must be between 0 and %d, not %d", maxContacts, opts.Contacts)
	case opts.Companies < 0 || opts.Companies > maxCompanies:
		return nil, fmt.Errorf("seed: companies must be between 1 and %d, not %d", maxCompanies, opts.Companies)
	case opts.DuplicateRate < 0 || opts.DuplicateRate >= 0.5:
		return nil, fmt.Errorf("seed: duplicate rate must be between 0 and 0.5, not %g", opts.DuplicateRate)
	}
	s := uint64(opts.Seed)
	g := &gen{
		opts:  opts,
		seed:  s,
		sink:  sink,
		truth: &Truth{},
		chunk: make([]crm.Record, 0, opts.ChunkSize),
		coID:  make([]int32, opts.Companies),
	}
	if err := g.companies(ctx, rand.New(rand.NewPCG(s, 0x636f6d70616e6965))); err != nil {
		return nil, err
	}
	g.coCount = make([]int32, g.nBaseCo)
	g.bigCos = max(1, g.nBaseCo/100)
	if err := g.contacts(ctx, rand.New(rand.NewPCG(s, 0x636f6e7461637473))); err != nil {
		return nil, err
	}
	return g.truth, nil
}

type gen struct {
	opts  Options
	seed  uint64
	sink  Sink
	truth *Truth
	chunk []crm.Record
	done  int

	// coID maps a base company's index to its id number; nBaseCo base
	// companies were written.
	coID    []int32
	nBaseCo int
	bigCos  int
	// coCount counts the contacts of each base company so far: the k-th
	// contact of a company takes the k-th name of the company's own
	// permutation of all names, so that names never repeat within a
	// company by accident.
	coCount []int32
}

// write adds one record to the current chunk and hands full chunks over.
func (g *gen) write(ctx context.Context, object string, rec crm.Record, total int) error {
	g.chunk = append(g.chunk, rec)
	if len(g.chunk) < g.opts.ChunkSize {
		return nil
	}
	return g.flush(ctx, object, total)
}

func (g *gen) flush(ctx context.Context, object string, total int) error {
	if len(g.chunk) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := g.sink.Upsert(ctx, object, g.chunk); err != nil {
		return fmt.Errorf("seed: write %s: %w", object, err)
	}
	g.done += len(g.chunk)
	clear(g.chunk)
	g.chunk = g.chunk[:0]
	if g.opts.Progress != nil {
		g.opts.Progress(object, g.done, total)
	}
	return nil
}

// groupRef names a truth group a scheduled record belongs to.
type groupRef struct {
	neg bool
	idx int
}

func (g *gen) newGroup(object, kind string, neg bool, first string) groupRef {
	grp := Group{Object: object, Kind: kind, IDs: []string{first}}
	if neg {
		g.truth.Negatives = append(g.truth.Negatives, grp)
		return groupRef{true, len(g.truth.Negatives) - 1}
	}
	g.truth.Groups = append(g.truth.Groups, grp)
	return groupRef{false, len(g.truth.Groups) - 1}
}

func (g *gen) join(ref groupRef, id string) {
	if ref.neg {
		g.truth.Negatives[ref.idx].IDs = append(g.truth.Negatives[ref.idx].IDs, id)
	} else {
		g.truth.Groups[ref.idx].IDs = append(g.truth.Groups[ref.idx].IDs, id)
	}
}

// scheduled is a record planted to appear later than the one it copies or
// resembles: a duplicate is always created after its original.
type scheduled struct {
	due, seq int
	group    groupRef
	build    func() map[string]string
}

// stream writes n records of one object. Each position either takes a due
// scheduled record or a new base record from next, which may schedule more.
// Scheduled records are due within a window, so only a bounded number wait.
type stream struct {
	g      *gen
	object string
	n      int
	window int
	queue  []scheduled // a min-heap by (due, seq)
	seq    int
	pos    int
	// stamp, when set, completes every record with what depends on its
	// position (a contact's created time).
	stamp func(pos int, f map[string]string)
}

func newStream(g *gen, object string, n int) *stream {
	return &stream{g: g, object: object, n: n, window: max(1, min(n/8, 50000))}
}

// schedule plants build to appear between 1 and window positions later.
func (s *stream) schedule(r *rand.Rand, ref groupRef, build func() map[string]string) {
	s.push(scheduled{due: s.pos + 1 + r.IntN(s.window), seq: s.seq, group: ref, build: build})
	s.seq++
}

// soon plants build to appear within a few positions.
func (s *stream) soon(r *rand.Rand, ref groupRef, build func() map[string]string) {
	s.push(scheduled{due: s.pos + 1 + r.IntN(min(s.window, 50)), seq: s.seq, group: ref, build: build})
	s.seq++
}

// room reports whether a new planted group of k more records still fits
// comfortably before the end.
func (s *stream) room(k int) bool { return s.n-s.pos > len(s.queue)+k+s.window/4+1 }

func (s *stream) run(ctx context.Context, id func(pos int) string, next func(id string) map[string]string) error {
	s.g.done = 0
	for s.pos = 0; s.pos < s.n; s.pos++ {
		rid := id(s.pos)
		var f map[string]string
		if len(s.queue) > 0 && (s.queue[0].due <= s.pos || len(s.queue) >= s.n-s.pos) {
			it := s.pop()
			f = it.build()
			s.g.join(it.group, rid)
		} else {
			f = next(rid)
		}
		if s.stamp != nil {
			s.stamp(s.pos, f)
		}
		if err := s.g.write(ctx, s.object, crm.Record{ID: rid, Fields: f}, s.n); err != nil {
			return err
		}
	}
	return s.g.flush(ctx, s.object, s.n)
}

func (s *stream) less(a, b int) bool {
	qa, qb := &s.queue[a], &s.queue[b]
	return qa.due < qb.due || (qa.due == qb.due && qa.seq < qb.seq)
}

func (s *stream) push(it scheduled) {
	s.queue = append(s.queue, it)
	for i := len(s.queue) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s.queue[i], s.queue[p] = s.queue[p], s.queue[i]
		i = p
	}
}

func (s *stream) pop() scheduled {
	top := s.queue[0]
	last := len(s.queue) - 1
	s.queue[0] = s.queue[last]
	s.queue[last] = scheduled{}
	s.queue = s.queue[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(s.queue) && s.less(l, m) {
			m = l
		}
		if l+1 < len(s.queue) && s.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		s.queue[i], s.queue[m] = s.queue[m], s.queue[i]
		i = m
	}
	return top
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// chance reports true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

func (g *gen) owner(r *rand.Rand) string {
	if chance(r, 0.12) {
		return pick(r, []string{"o-03", "o-05"}) // left the company: stale
	}
	return pick(r, []string{"o-01", "o-02", "o-04", "o-06", "o-07", "o-08"})
}

// plantRate is the chance that a base record gets planted copies, such that
// copies make up about rate of all records (1.2 copies per planted group).
func plantRate(rate float64) float64 { return rate / (1 - rate) / 1.2 }

// lettersLower keeps a name's ASCII letters, lower-cased, for an email.
func lettersLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ContactID is the id of the contact at position pos (0-based).
func ContactID(pos int) string { return strconv.Itoa(1000001 + pos) }

// CompanyID is the id of the company at position pos (0-based).
func CompanyID(pos int) string { return fmt.Sprintf("c-%06d", pos+1) }
