package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

func TestNew(t *testing.T) {
	t.Run("the tier picks HubSpot's published burst limit and an override wins", func(t *testing.T) {
		for _, tt := range []struct {
			tier     string
			override int
			want     int
		}{
			{"", 0, 100}, {"free", 0, 100}, {"starter", 0, 100},
			{"professional", 0, 190}, {"Enterprise", 0, 190}, {"starter", 250, 250},
		} {
			c, err := New(Config{Token: "x", Tier: tt.tier, RequestsPer10s: tt.override})
			if err != nil {
				t.Fatalf("tier %q: %v", tt.tier, err)
			}
			if got, w := c.Limit(); got != tt.want || w != Window {
				t.Errorf("tier %q override %d: limit %d per %v, want %d per %v", tt.tier, tt.override, got, w, tt.want, Window)
			}
		}
	})
	for _, tt := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"a missing token names the variable to set", Config{TokenEnv: "MY_HS_TOKEN"}, "set MY_HS_TOKEN"},
		{"an unknown tier is refused", Config{Token: "x", Tier: "platinum"}, `unknown tier "platinum"`},
		{"a base URL that is not http(s) is refused", Config{Token: "x", BaseURL: "ftp://example.com"}, "not an http(s) URL"},
		{"a negative rate is refused", Config{Token: "x", RequestsPer10s: -1}, "must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestList(t *testing.T) {
	t.Run("every record arrives once, in id order, 100 per page, with only the fields asked for", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 5001, 250, func(i int) map[string]string {
			return kv("email", fmt.Sprintf("p%d@x.com", i), "jobtitle", "CTO", "phone", "")
		})
		var got []crm.Record
		err := e.c.List(t.Context(), "contacts", []string{"email", "phone"}, func(r crm.Record) error {
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("listed %d records, want %d", len(got), len(ids))
		}
		for i, r := range got {
			want := map[string]string{"email": fmt.Sprintf("p%d@x.com", i)}
			if r.ID != ids[i] || !maps.Equal(r.Fields, want) || r.MergedInto != "" {
				t.Fatalf("record %d = %+v, want id %s fields %v", i, r, ids[i], want)
			}
		}
		if n := e.s.Stats().ByEndpoint["GET /crm/v3/objects/{object}"]; n != 3 {
			t.Errorf("list requests = %d, want 3 pages of at most 100", n)
		}
	})

	t.Run("with fields nil every property is read, by batch read rather than a long URL", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		seedContacts(e.s, 1, 120, func(i int) map[string]string {
			return kv("email", fmt.Sprintf("p%d@x.com", i), "favourite_colour", "teal")
		})
		n := 0
		err := e.c.List(t.Context(), "contacts", nil, func(r crm.Record) error {
			n++
			if r.Fields["email"] == "" || r.Fields["favourite_colour"] != "teal" || r.Fields["hs_object_id"] != r.ID {
				return fmt.Errorf("record %s lacks properties: %v", r.ID, r.Fields)
			}
			return nil
		})
		if err != nil || n != 120 {
			t.Fatalf("List: %d records, %v", n, err)
		}
		st := e.s.Stats().ByEndpoint
		if st["GET /crm/v3/properties/{object}"] != 1 || st["POST /crm/v3/objects/{object}/batch/read"] != 2 {
			t.Errorf("requests = %v, want 1 properties read and 2 batch reads", st)
		}
	})

	t.Run("an error from the callback stops the listing unchanged", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		seedContacts(e.s, 1, 10, func(int) map[string]string { return kv("email", "a@x.com") })
		stop := fmt.Errorf("enough")
		calls := 0
		err := e.c.List(t.Context(), "contacts", []string{"email"}, func(crm.Record) error {
			calls++
			return stop
		})
		if err != stop || calls != 1 {
			t.Errorf("List = %v after %d calls, want the callback's error after 1", err, calls)
		}
	})
}

func TestGet(t *testing.T) {
	t.Run("ids are read in batches of 100 and missing ids are simply absent", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 1, 250, func(i int) map[string]string {
			return kv("email", fmt.Sprintf("p%d@x.com", i))
		})
		ask := append(slices.Clone(ids), "999999", "888888", ids[3]) // two unknown, one repeated
		got, err := e.c.Get(t.Context(), "contacts", ask, []string{"email", "jobtitle"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 250 {
			t.Fatalf("got %d records, want 250", len(got))
		}
		if r := got["7"]; r.ID != "7" || !maps.Equal(r.Fields, map[string]string{"email": "p6@x.com"}) {
			t.Errorf("record 7 = %+v", r)
		}
		if _, ok := got["999999"]; ok {
			t.Error("a missing id is in the result")
		}
		if n := e.s.Stats().ByEndpoint["POST /crm/v3/objects/{object}/batch/read"]; n != 3 {
			t.Errorf("batch reads = %d, want 3 (100 + 100 + 50)", n)
		}
	})

	t.Run("an id merged away resolves to the merged record and says so", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		seedContacts(e.s, 1, 2, func(i int) map[string]string { return kv("email", fmt.Sprintf("p%d@x.com", i)) })
		if _, err := e.c.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: "1", Loser: "2"}}); err != nil {
			t.Fatal(err)
		}
		merged, _ := e.s.Resolve("contacts", "1")
		got, err := e.c.Get(t.Context(), "contacts", []string{"1", "2", merged}, []string{"email"})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"1", "2"} {
			if r := got[id]; r.MergedInto != merged || r.Fields["email"] != "p0@x.com" {
				t.Errorf("record %s = %+v, want merged into %s with the primary's email", id, r, merged)
			}
		}
		if r := got[merged]; r.MergedInto != "" || r.ID != merged {
			t.Errorf("merged record = %+v, want it live", r)
		}
	})

	t.Run("an object HubSpot does not have is an error naming it", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		_, err := e.c.Get(t.Context(), "unicorns", []string{"1"}, []string{"x"})
		if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "unicorns") {
			t.Errorf("Get = %v, want a 404 naming the object", err)
		}
	})
}

func TestDoubleFollowsHubSpotsBatchLimit(t *testing.T) {
	s := hubspottest.New(hubspottest.Options{Token: "t"})
	t.Cleanup(s.Close)
	var in struct {
		Inputs []map[string]string `json:"inputs"`
	}
	for i := range 101 {
		in.Inputs = append(in.Inputs, map[string]string{"id": strconv.Itoa(i)})
	}
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/crm/v3/objects/contacts/batch/read", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Status, Message, CorrelationID, Category string }
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || e.Status != "error" || e.Category != "VALIDATION_ERROR" || e.CorrelationID == "" || e.Message == "" {
		t.Errorf("101 inputs: %d %+v, want 400 with HubSpot's error body", resp.StatusCode, e)
	}
}

func TestOwners(t *testing.T) {
	e := newEnv(t, hubspottest.Options{})
	for i := range 230 {
		e.s.AddOwner(hubspottest.Owner{ID: strconv.Itoa(100 + i), Email: fmt.Sprintf("o%d@x.com", i), FirstName: "O", LastName: strconv.Itoa(i), UserID: int64(9000 + i)})
	}
	owners, err := e.c.Owners(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 230 || owners[229] != (Owner{ID: "329", Email: "o229@x.com", FirstName: "O", LastName: "229", UserID: 9229}) {
		t.Errorf("got %d owners, last %+v", len(owners), owners[len(owners)-1])
	}
	if n := e.s.Stats().ByEndpoint["GET /crm/v3/owners"]; n != 3 {
		t.Errorf("owner requests = %d, want 3 pages", n)
	}
}
