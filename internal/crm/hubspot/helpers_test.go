package hubspot

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// testToken is distinctive so that a leak is easy to find.
const testToken = "pat-na1-0123abcd-SECRET-TOKEN-4567"

// env is a client and a double sharing a fake clock.
type env struct {
	c     *Client
	s     *hubspottest.Server
	clock *hubspottest.Clock
	log   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv starts a double with opts and a client for it; cfg, if given,
// adjusts the client's configuration.
func newEnv(t testing.TB, opts hubspottest.Options, cfg ...func(*Config)) *env {
	t.Helper()
	clock := hubspottest.NewClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	s := hubspottest.New(opts)
	t.Cleanup(s.Close)
	log := &syncBuffer{}
	conf := Config{BaseURL: s.URL, Token: testToken, Tier: "professional",
		Now: clock.Now, Sleep: clock.Sleep, Log: log, Rand: func() float64 { return 0.5 }}
	for _, f := range cfg {
		f(&conf)
	}
	c, err := New(conf)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{c: c, s: s, clock: clock, log: log}
}

// seedContacts creates contacts with ids first, first+1, ... and the
// properties props(i) for the i-th.
func seedContacts(s *hubspottest.Server, first, n int, props func(i int) map[string]string) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = strconv.Itoa(first + i)
		s.Seed("contacts", ids[i], props(i))
	}
	return ids
}

func kv(pairs ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

func set(record, field, before, after string) crm.SetRequest {
	return crm.SetRequest{Object: "contacts", Record: record, Field: field, Before: before, After: after, Source: "test"}
}

// prop returns a property of a record as the double stores it.
func prop(t testing.TB, s *hubspottest.Server, object, id, name string) string {
	t.Helper()
	props, _, ok := s.Get(object, id)
	if !ok {
		t.Fatalf("double has no %s/%s", object, id)
	}
	return props[name]
}

// writesOf counts the values the double stored for object/id.field.
func writesOf(s *hubspottest.Server, object, id, field string) int {
	n := 0
	for _, w := range s.Writes() {
		if w.Object == object && w.ID == id && w.Property == field {
			n++
		}
	}
	return n
}

func statuses(results []crm.Result) []crm.Status {
	out := make([]crm.Status, len(results))
	for i, r := range results {
		out[i] = r.Status
	}
	return out
}
