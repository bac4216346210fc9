package salesforce

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

func clientCredentials(c *Config) {
	c.Token, c.ClientID, c.ClientSecret = "", "test-client-id", "test-client-secret"
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{InstanceURL: "https://x.my.salesforce.com", TokenEnv: "SF_TOKEN"}, "no credentials: set SF_TOKEN"},
		{Config{InstanceURL: "https://x.my.salesforce.com", ClientID: "id"}, "needs both"},
		{Config{InstanceURL: "x.my.salesforce.com", Token: "t"}, "is not the org's URL"},
		{Config{InstanceURL: "https://x.my.salesforce.com/services", Token: "t"}, "is not the org's URL"},
		{Config{InstanceURL: "https://x.my.salesforce.com", Token: "t", APIVersion: "62"}, `api_version "62"`},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	c, err := New(Config{InstanceURL: "https://x.my.salesforce.com/", Token: "t", APIVersion: "v61.0"})
	if err != nil || c.instance != "https://x.my.salesforce.com" || c.version != "61.0" {
		t.Errorf("New = %+v, %v", c, err)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, sftest.Options{}, clientCredentials)
	id := e.s.Seed("Contact", kv("Email", "a@x.com"))
	if _, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Email"}); err != nil {
		t.Fatal(err)
	}
	if st := e.c.Stats(); st.Token != 1 || st.QueryAll != 1 {
		t.Fatalf("stats = %+v, want a token and a query", st)
	}

	t.Run("an expired session is renewed once and the call retried", func(t *testing.T) {
		e.s.ExpireSession()
		got, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Email"})
		if err != nil || got[id].Fields["Email"] != "a@x.com" {
			t.Fatalf("Get after expiry = %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.Token != 2 || st.QueryAll != 3 || st.Retries != 1 {
			t.Errorf("stats = %+v, want a second token and the query sent again", st)
		}
		if !strings.Contains(e.log.String(), "the session expired") {
			t.Errorf("log = %q", e.log.String())
		}
	})

	t.Run("SOAP calls renew too", func(t *testing.T) {
		b := e.s.Seed("Contact", nil)
		e.s.ExpireSession()
		e.s.ResetStats()
		// The read (REST) renews first; expire again between read and merge.
		expired := false
		beforeMerge(e, func() {
			if !expired {
				expired = true
				e.s.ExpireSession()
			}
		})
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", id, b)})
		if err != nil || got[0].Status != crm.Applied {
			t.Fatalf("merge = %+v, %v", got, err)
		}
		if ds := e.s.Stats(); ds.Unauthorized != 2 || ds.SOAPMerge != 1 {
			t.Errorf("double stats = %+v, want a 401 and an INVALID_SESSION_ID fault, then the merge", ds)
		}
	})

	t.Run("a token refused again after renewal is an error", func(t *testing.T) {
		e.c.http.Transport = hookTransport{before: func(r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/services/data/") {
				e.s.ExpireSession()
			}
		}}
		_, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Email"})
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "rejected a new session from the client credentials flow") {
			t.Errorf("err = %v", err)
		}
		noLeak(t, err.Error(), e.log.String())
	})

	t.Run("a wrong secret is a clear error without the secret", func(t *testing.T) {
		e := newEnv(t, sftest.Options{ClientSecret: "the-right-secret"}, clientCredentials)
		_, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Email"})
		if err == nil || !strings.Contains(err.Error(), "refused the connected app's client credentials (400 invalid_client: invalid client credentials)") {
			t.Errorf("err = %v", err)
		}
		noLeak(t, err.Error(), e.log.String())
	})

	t.Run("a 5xx of the token endpoint is retried", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, clientCredentials)
		e.s.FailNextToken(http.StatusServiceUnavailable)
		if _, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Email"}); err != nil {
			t.Fatal(err)
		}
		if st := e.c.Stats(); st.Token != 2 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestFixedTokenExpired(t *testing.T) {
	e := newEnv(t, sftest.Options{})
	id := e.s.Seed("Contact", nil)
	e.s.ExpireSession()
	_, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Email"})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "the Salesforce session in $SF_TOKEN expired or is invalid") || !strings.Contains(msg, "set SF_TOKEN") {
		t.Errorf("message %q does not name the variable", msg)
	}
	_, err2 := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", id, e.s.Seed("Contact", nil))})
	if !errors.Is(err2, ErrUnauthorized) {
		t.Errorf("merge err = %v", err2)
	}
	noLeak(t, msg, err2.Error(), e.log.String())
	if st := e.c.Stats(); st.Token != 0 || st.Retries != 0 {
		t.Errorf("stats = %+v: a fixed token cannot be renewed", st)
	}
}

func TestAPIReserve(t *testing.T) {
	t.Run("a run stops between calls when the reserve is reached", func(t *testing.T) {
		e := newEnv(t, sftest.Options{DailyLimit: 10_000})
		ids := seedContacts(e.s, 3, func(int) map[string]any { return kv("Title", "old") })
		e.s.Burn(9_899) // other integrations; the read makes it 9,900
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(ids[0], "Title", "old", "new")})
		var le *LimitError
		if !errors.As(err, &le) || !errors.Is(err, ErrAPILimit) || got != nil {
			t.Fatalf("CompareAndSet = %+v, %v; want a LimitError", got, err)
		}
		want := "Salesforce API allowance nearly used (9900 of 10000 calls in the last 24 hours; crmops keeps 100 in reserve): stopped before writing 1 Contact records; run again when the allowance recovers"
		if err.Error() != want {
			t.Errorf("message\n%s\nwant\n%s", err, want)
		}
		if v := field(t, e.s, "Contact", ids[0], "Title"); v != "old" || e.s.Stats().Collections != 0 {
			t.Error("the write was sent")
		}
		// Every later call stops before it is sent.
		calls := e.s.Stats().APICalls
		if _, err := e.c.Get(t.Context(), "Contact", ids, []string{"Title"}); !errors.Is(err, ErrAPILimit) || e.s.Stats().APICalls != calls {
			t.Errorf("Get = %v after %d -> %d calls", err, calls, e.s.Stats().APICalls)
		}
		if st := e.c.Stats(); st.APIUsage != 9_900 || st.APILimit != 10_000 || !strings.Contains(st.String(), "API calls used: 1 (queryAll 1); org usage 9900 of 10000") {
			t.Errorf("stats = %+v (%s)", st, st)
		}
	})

	t.Run("the default reserve is 1% of a large allowance", func(t *testing.T) {
		e := newEnv(t, sftest.Options{DailyLimit: 1_000_000})
		id := e.s.Seed("Contact", nil)
		e.s.Burn(989_998)
		if _, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"}); err != nil {
			t.Fatal(err) // 989,999 used: 10,001 left
		}
		if _, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"}); err != nil {
			t.Fatal(err) // 990,000 used: 10,000 left, the reserve
		}
		_, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"})
		if !errors.Is(err, ErrAPILimit) || !strings.Contains(err.Error(), "crmops keeps 10000 in reserve") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("a configured reserve, and none", func(t *testing.T) {
		for _, tc := range []struct{ reserve, calls int }{{5, 4}, {-1, 9}} {
			e := newEnv(t, sftest.Options{DailyLimit: 10}, func(c *Config) { c.APIReserve = tc.reserve })
			id := e.s.Seed("Contact", nil)
			n := 0
			for ; n < 20; n++ {
				if _, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"}); err != nil {
					if !errors.Is(err, ErrAPILimit) {
						t.Fatal(err)
					}
					break
				}
			}
			// -1: calls until none is left, then 0 <= 0 stops before the 11th.
			if want := map[int]int{5: 5, -1: 10}[tc.reserve]; n != want {
				t.Errorf("reserve %d: %d calls made, want %d", tc.reserve, n, want)
			}
		}
	})

	t.Run("403 REQUEST_LIMIT_EXCEEDED is the same kind of error", func(t *testing.T) {
		e := newEnv(t, sftest.Options{DailyLimit: 1000})
		id := e.s.Seed("Contact", nil)
		e.s.Burn(1000)
		_, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"})
		var le *LimitError
		if !errors.As(err, &le) || !le.Exceeded || !errors.Is(err, ErrAPILimit) {
			t.Fatalf("err = %v", err)
		}
		want := "Salesforce API allowance used up (REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.; 1000 of 1000 calls in the last 24 hours): stopped at reading 1 Contact records; run again when the allowance recovers"
		if err.Error() != want {
			t.Errorf("message\n%s\nwant\n%s", err, want)
		}
	})

	t.Run("SOAP's REQUEST_LIMIT_EXCEEDED fault too", func(t *testing.T) {
		e := newEnv(t, sftest.Options{DailyLimit: 1000}, func(c *Config) { c.APIReserve = -1 })
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		e.s.Burn(998) // the read is the 999th call
		beforeMerge(e, func() { e.s.Burn(1) })
		_, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1])})
		if !errors.Is(err, ErrAPILimit) || !strings.Contains(err.Error(), "stopped at merging 1 Contact records") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRetries(t *testing.T) {
	t.Run("reads are retried after 5xx with backoff", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		id := e.s.Seed("Contact", kv("Title", "x"))
		e.s.FailNext(http.StatusServiceUnavailable, http.StatusInternalServerError)
		start := e.clock.Now()
		got, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"})
		if err != nil || got[id].Fields["Title"] != "x" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.QueryAll != 3 || st.Retries != 2 {
			t.Errorf("stats = %+v", st)
		}
		if waited := e.clock.Now().Sub(start); waited <= 0 {
			t.Error("no backoff")
		}
		if !strings.Contains(e.log.String(), "503 Salesforce SERVER_UNAVAILABLE") {
			t.Errorf("log = %q", e.log.String())
		}
	})

	t.Run("bounded", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, func(c *Config) { c.MaxAttempts = 3 })
		id := e.s.Seed("Contact", nil)
		e.s.FailNext(503, 503, 503, 503)
		_, err := e.c.Get(t.Context(), "Contact", []string{id}, []string{"Title"})
		if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("a cancelled context stops the waits", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		id := e.s.Seed("Contact", nil)
		ctx, cancel := context.WithCancel(t.Context())
		e.s.FailNext(503)
		e.c.sleep = func(ctx2 context.Context, d time.Duration) error { cancel(); return ctx2.Err() }
		_, err := e.c.Get(ctx, "Contact", []string{id}, []string{"Title"})
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestStatsString(t *testing.T) {
	s := Stats{QueryAll: 3, Collections: 2, Token: 1, Retries: 1}
	if got, want := s.String(), "API calls used: 5 (queryAll 3, collections 2, retries 1, token 1)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
