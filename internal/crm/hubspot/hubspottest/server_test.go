package hubspottest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, s *Server, token, path string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s: not JSON: %s", path, data)
	}
	return resp, body
}

func TestRateLimit(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(Options{Token: "t", RequestsPer10s: 3, Now: clock.Now})
	t.Cleanup(s.Close)
	for i := range 3 {
		resp, _ := get(t, s, "t", "/crm/v3/objects/contacts?limit=1")
		if resp.StatusCode != 200 || resp.Header.Get("X-HubSpot-RateLimit-Remaining") != []string{"2", "1", "0"}[i] {
			t.Fatalf("request %d: %d, remaining %q", i, resp.StatusCode, resp.Header.Get("X-HubSpot-RateLimit-Remaining"))
		}
		clock.Advance(time.Second)
	}
	resp, body := get(t, s, "t", "/crm/v3/objects/contacts")
	if resp.StatusCode != 429 || body["errorType"] != "RATE_LIMIT" || body["policyName"] != "TEN_SECONDLY_ROLLING" ||
		body["status"] != "error" || body["correlationId"] == "" {
		t.Errorf("4th request in the window: %d %v, want 429 with HubSpot's body", resp.StatusCode, body)
	}
	h := resp.Header
	if h.Get("Retry-After") != "7" || h.Get("X-HubSpot-RateLimit-Max") != "3" || h.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "10000" {
		t.Errorf("429 headers = %v, want Retry-After 7 (the oldest request leaves the window at 10s) and the limit", h)
	}
	clock.Advance(7 * time.Second) // the first request, at 0s, has left (t-10s, t]
	if resp, _ := get(t, s, "t", "/crm/v3/objects/contacts"); resp.StatusCode != 200 {
		t.Errorf("after the window moved on: %d", resp.StatusCode)
	}
	st := s.Stats()
	if len(st.Accepted) != 4 || len(st.RateLimited) != 1 || st.MaxInRollingWindow(10*time.Second) != 3 {
		t.Errorf("stats: %d accepted, %d limited, max %d in a window", len(st.Accepted), len(st.RateLimited), st.MaxInRollingWindow(10*time.Second))
	}
}

func TestErrorsHaveHubSpotsShape(t *testing.T) {
	s := New(Options{Token: "t"})
	t.Cleanup(s.Close)
	for _, tt := range []struct {
		token, path string
		status      int
		category    string
	}{
		{"wrong", "/crm/v3/objects/contacts", 401, "INVALID_AUTHENTICATION"},
		{"t", "/crm/v3/objects/unicorns", 404, "OBJECT_NOT_FOUND"},
		{"t", "/crm/v3/objects/contacts/42", 404, "OBJECT_NOT_FOUND"},
		{"t", "/crm/v3/objects/contacts?limit=101", 400, "VALIDATION_ERROR"},
	} {
		resp, body := get(t, s, tt.token, tt.path)
		if resp.StatusCode != tt.status || body["category"] != tt.category || body["status"] != "error" ||
			!strings.Contains(body["correlationId"].(string), "-") || body["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tt.path, resp.StatusCode, body, tt.status, tt.category)
		}
	}
}

func TestListPaging(t *testing.T) {
	s := New(Options{Token: "t"})
	t.Cleanup(s.Close)
	for _, id := range []string{"10", "9", "100", "11"} {
		s.Seed("contacts", id, map[string]string{"email": id + "@x.com"})
	}
	var ids []string
	after := ""
	for range 5 {
		_, body := get(t, s, "t", "/crm/v3/objects/contacts?limit=3&properties=email&after="+after)
		for _, r := range body["results"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		paging, ok := body["paging"].(map[string]any)
		if !ok {
			break
		}
		after = paging["next"].(map[string]any)["after"].(string)
	}
	if strings.Join(ids, ",") != "9,10,11,100" {
		t.Errorf("paged ids = %v, want numeric order", ids)
	}
}

func TestLatency(t *testing.T) {
	const d = 100 * time.Millisecond
	s := New(Options{Token: "t", RequestsPer10s: 100, Latency: func() time.Duration { return d }})
	t.Cleanup(s.Close)
	start := time.Now()
	done := make(chan *http.Response, 4)
	for range 4 {
		go func() {
			resp, _ := get(t, s, "t", "/crm/v3/objects/contacts?limit=1")
			done <- resp
		}()
	}
	for range 4 {
		if resp := <-done; resp.StatusCode != 200 || resp.Header.Get("X-HubSpot-RateLimit-Max") != "100" {
			t.Fatalf("answer %d with headers %v", resp.StatusCode, resp.Header)
		}
	}
	// Each took the round trip; they overlapped instead of queueing.
	if took := time.Since(start); took < d || took > 3*d {
		t.Errorf("4 requests at %v each took %v together, want about %v", d, took, d)
	}
	if st := s.Stats(); len(st.Accepted) != 4 {
		t.Errorf("%d requests counted, want 4", len(st.Accepted))
	}
}
