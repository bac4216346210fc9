package githubtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge/github/githubtest"
)

// TestRateLimitsAsGoGithubSeesThem injects each kind of rate limit and
// checks the error type go-github v62 turns it into: the forge's retry logic
// depends on it.
func TestRateLimitsAsGoGithubSeesThem(t *testing.T) {
	tests := []struct {
		name  string
		kind  githubtest.RateLimitKind
		check func(t *testing.T, err error)
	}{
		{"a primary limit with 403 is a RateLimitError", githubtest.Primary, func(t *testing.T, err error) {
			var rl *github.RateLimitError
			if !errors.As(err, &rl) {
				t.Fatalf("%v (%T), want *github.RateLimitError", err, err)
			}
			if rl.Rate.Remaining != 0 || rl.Rate.Limit != 5000 || !rl.Rate.Reset.After(time.Now().Add(-time.Second)) {
				t.Fatalf("rate %+v, want none remaining and a reset ahead", rl.Rate)
			}
		}},
		{"a primary limit with 429 is only an ErrorResponse to go-github v62", githubtest.Primary429, func(t *testing.T, err error) {
			var rl *github.RateLimitError
			if errors.As(err, &rl) {
				t.Fatal("go-github now recognises 429: handle it as a RateLimitError")
			}
			if er := apiError(t, err, 429); er.Response.Header.Get("X-RateLimit-Remaining") != "0" {
				t.Fatalf("x-ratelimit-remaining %q", er.Response.Header.Get("X-RateLimit-Remaining"))
			}
		}},
		{"a secondary limit with 403 is an AbuseRateLimitError", githubtest.Secondary, func(t *testing.T, err error) {
			var ab *github.AbuseRateLimitError
			if !errors.As(err, &ab) {
				t.Fatalf("%v (%T), want *github.AbuseRateLimitError", err, err)
			}
			if ab.GetRetryAfter() != time.Second {
				t.Fatalf("retry after %v, want 1s", ab.GetRetryAfter())
			}
		}},
		{"a secondary limit with 429 is only an ErrorResponse to go-github v62", githubtest.Secondary429, func(t *testing.T, err error) {
			var ab *github.AbuseRateLimitError
			if errors.As(err, &ab) {
				t.Fatal("go-github now recognises 429: handle it as an AbuseRateLimitError")
			}
			if er := apiError(t, err, 429); er.Response.Header.Get("Retry-After") != "1" {
				t.Fatalf("retry-after %q", er.Response.Header.Get("Retry-After"))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, githubtest.Options{})
			f.s.RateLimitNext(2, tc.kind)
			for range 2 {
				// A new client each time: go-github remembers a limit and
				// would refuse the second call without sending it.
				_, _, err := f.s.Client("bot-token").PullRequests.List(f.ctx, owner, name, nil)
				tc.check(t, err)
			}
			_, resp, err := f.s.Client("bot-token").PullRequests.List(f.ctx, owner, name, nil)
			if err != nil {
				t.Fatalf("after the injected limits: %v", err)
			}
			if resp.Rate.Limit != 5000 || resp.Rate.Remaining >= 5000 || resp.Rate.Reset.IsZero() {
				t.Fatalf("rate headers %+v", resp.Rate)
			}
		})
	}
}

// TestPrimaryLimitRunsOut exhausts a small primary limit and checks that
// go-github then refuses calls by itself until the reset.
func TestPrimaryLimitRunsOut(t *testing.T) {
	f := newFixture(t, githubtest.Options{RateLimit: 2})
	c := f.s.Client("bot-token")
	for want := 1; want >= 0; want-- {
		_, resp, err := c.PullRequests.List(f.ctx, owner, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Rate.Remaining != want || resp.Rate.Limit != 2 {
			t.Fatalf("rate %+v, want %d remaining of 2", resp.Rate, want)
		}
	}
	sent := len(f.s.Requests())
	_, _, err := c.PullRequests.List(f.ctx, owner, name, nil)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || len(f.s.Requests()) != sent {
		t.Fatalf("%v, requests %d -> %d: want a RateLimitError from go-github without a request", err, sent, len(f.s.Requests()))
	}
	// A fresh client asks; the server refuses.
	_, _, err = f.s.Client("bot-token").PullRequests.List(f.ctx, owner, name, nil)
	if !errors.As(err, &rl) || len(f.s.Requests()) != sent+1 {
		t.Fatalf("%v: want the server's RateLimitError", err)
	}
	// Limits are per login.
	if _, _, err := f.alice.PullRequests.List(f.ctx, owner, name, nil); err != nil {
		t.Fatal(err)
	}
}
