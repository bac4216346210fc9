package github

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scripted answers requests with canned responses, in order, and records
// the bodies it received.
type scripted struct {
	responses []func(w http.ResponseWriter)
	bodies    []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	s.bodies = append(s.bodies, string(data))
	i := len(s.bodies) - 1
	if i >= len(s.responses) {
		w.WriteHeader(http.StatusOK)
		return
	}
	s.responses[i](w)
}

func status(code int, headers map[string]string, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func TestRetryTransportFollowsGitHubsRateLimitProtocol(t *testing.T) {
	reset := strconv.FormatInt(time.Now().Add(3*time.Second).Unix(), 10)
	tests := []struct {
		name      string
		method    string
		responses []func(http.ResponseWriter)
		wantCode  int
		wantCalls int
		wantWaits []time.Duration // rounded to seconds
	}{
		{"a 429 with retry-after waits that long", "POST",
			[]func(http.ResponseWriter){status(429, map[string]string{"Retry-After": "2"}, `{"message":"secondary"}`)},
			200, 2, []time.Duration{2 * time.Second}},
		{"a secondary-rate-limit 403 without headers waits a minute", "POST",
			[]func(http.ResponseWriter){status(403, nil, `{"message":"You have exceeded a secondary rate limit."}`)},
			200, 2, []time.Duration{time.Minute}},
		{"a primary-rate-limit 403 waits until x-ratelimit-reset", "GET",
			[]func(http.ResponseWriter){status(403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset}, `{"message":"API rate limit exceeded"}`)},
			200, 2, []time.Duration{4 * time.Second}},
		{"a permission 403 is not retried", "POST",
			[]func(http.ResponseWriter){status(403, nil, `{"message":"Resource not accessible by integration"}`)},
			403, 1, nil},
		{"a 502 on GET is retried", "GET",
			[]func(http.ResponseWriter){status(502, nil, "bad gateway")},
			200, 2, []time.Duration{time.Second}},
		{"a 502 on POST is not retried: it may have created something", "POST",
			[]func(http.ResponseWriter){status(502, nil, "bad gateway")},
			502, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &scripted{responses: tt.responses}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var waits []time.Duration
			rt := &retryTransport{base: http.DefaultTransport, maxWait: time.Hour, attempts: 6,
				sleep: func(_ context.Context, d time.Duration) error {
					waits = append(waits, d.Round(time.Second))
					return nil
				}}
			req, _ := http.NewRequest(tt.method, ts.URL, strings.NewReader(`{"title":"x"}`))
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || len(srv.bodies) != tt.wantCalls {
				t.Errorf("got %d after %d calls, want %d after %d", resp.StatusCode, len(srv.bodies), tt.wantCode, tt.wantCalls)
			}
			for i, b := range srv.bodies {
				if b != `{"title":"x"}` {
					t.Errorf("call %d sent body %q; a retry must resend the body", i+1, b)
				}
			}
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waited %v, want %v", waits, tt.wantWaits)
			}
			for i := range waits {
				if diff := waits[i] - tt.wantWaits[i]; diff < -time.Second || diff > time.Second {
					t.Errorf("wait %d = %v, want about %v", i, waits[i], tt.wantWaits[i])
				}
			}
		})
	}
}

func TestRetryTransportGivesUpOnWaitsLongerThanItsLimit(t *testing.T) {
	srv := &scripted{responses: []func(http.ResponseWriter){status(429, map[string]string{"Retry-After": "7200"}, "{}")}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	rt := &retryTransport{base: http.DefaultTransport, maxWait: 15 * time.Minute, attempts: 6,
		sleep: func(context.Context, time.Duration) error { t.Fatal("slept"); return nil }}
	req, _ := http.NewRequest("GET", ts.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 {
		t.Errorf("status %d, want the 429 passed through for go-github to report", resp.StatusCode)
	}
}
