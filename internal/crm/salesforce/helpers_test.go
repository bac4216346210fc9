package salesforce

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// testToken is distinctive so that a leak is easy to find.
const testToken = "00D000000000001!AQ-SECRET-SESSION-4567"

// standardFields are the fields the tests' orgs have.
var standardFields = map[string][]string{
	"Contact": {"FirstName", "LastName", "Email", "Title", "Department", "Phone", "MailingCity", "LeadSource",
		"DoNotCall", "OwnerId", "AccountId", "Score__c"},
	"Lead":        {"FirstName", "LastName", "Email", "Company", "Status"},
	"Account":     {"Name", "Industry", "Website"},
	"Opportunity": {"Name", "StageName", "ContactId__c"},
}

// env is a client and a double sharing a fake clock.
type env struct {
	c     *Client
	s     *sftest.Server
	clock *sftest.Clock
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

// newEnv starts a double with opts and a client for it with a fixed token;
// cfg, if given, adjusts the client's configuration.
func newEnv(t testing.TB, opts sftest.Options, cfg ...func(*Config)) *env {
	t.Helper()
	clock := sftest.NewClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Fields == nil {
		opts.Fields = standardFields
	}
	s := sftest.New(opts)
	t.Cleanup(s.Close)
	log := &syncBuffer{}
	conf := Config{InstanceURL: s.URL, APIVersion: "62.0", Token: opts.Token, TokenEnv: "SF_TOKEN",
		Now: clock.Now, Sleep: clock.Sleep, Log: log, HTTPClient: &http.Client{Timeout: 10 * time.Second}}
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

func strict(c *Config) { c.StrictCAS = true }

// seedContacts creates n contacts with fields fields(i) and returns their ids.
func seedContacts(s *sftest.Server, n int, fields func(i int) map[string]any) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = s.Seed("Contact", fields(i))
	}
	return ids
}

func kv(pairs ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

func set(record, field, before, after string) crm.SetRequest {
	return crm.SetRequest{Object: "Contact", Record: record, Field: field, Before: before, After: after, Source: "test"}
}

// field returns a field of a record as the double stores it, as text.
func field(t testing.TB, s *sftest.Server, object, id, name string) string {
	t.Helper()
	fields, _, _, ok := s.Get(object, id)
	if !ok {
		t.Fatalf("double has no %s/%s", object, id)
	}
	v, ok := fields[name]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func statuses(results []crm.Result) []crm.Status {
	out := make([]crm.Status, len(results))
	for i, r := range results {
		out[i] = r.Status
	}
	return out
}

// noLeak fails if the token or the secret appears in any of texts.
func noLeak(t testing.TB, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, secret := range []string{testToken, "test-client-secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("secret %q leaked in %q", secret, s)
			}
		}
	}
}

// both runs f as a subtest in default and in strict mode.
func both(t *testing.T, f func(t *testing.T, mode func(*Config))) {
	t.Run("default", func(t *testing.T) { f(t, func(*Config) {}) })
	t.Run("strict", func(t *testing.T) { f(t, strict) })
}

// interfere sends an update of its own to the double, as another user of
// the org would, through the double's REST API.
func interfere(t testing.TB, e *env, object, id string, fields map[string]any) {
	t.Helper()
	e.clock.Advance(time.Second) // a later LastModifiedDate
	body := new(bytes.Buffer)
	fmt.Fprint(body, "{")
	first := true
	for k, v := range fields {
		if !first {
			body.WriteString(",")
		}
		first = false
		fmt.Fprintf(body, "%q:%q", k, v)
	}
	fmt.Fprint(body, "}")
	req, _ := http.NewRequest(http.MethodPatch, e.s.URL+"/services/data/v62.0/sobjects/"+object+"/"+id, body)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("interfering update: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("interfering update: %s", resp.Status)
	}
}

// hookTransport calls before for each request before sending it.
type hookTransport struct {
	before func(*http.Request)
}

func (h hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.before != nil {
		h.before(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}
