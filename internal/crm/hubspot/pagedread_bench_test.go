package hubspot

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

// BenchmarkPagedReadAtLatency reads 10,000 contacts through Client.List,
// as every detector reads its object, with the wall clock against the
// double at the professional tier's limit (190 requests per 10 s),
// answering each request after 100-300 ms. HubSpot's list endpoint is
// cursor-paged (each page's after comes from the page before), so the
// pages are read one after another and the read is bound by latency, not
// by the limit:
//
//	records/s  records read per second of wall time
//	%limit     requests per 10 s over the run, as a share of the limit
//	ms/page    wall time per page of 100 records
//	min-1M     minutes 1,000,000 records would take at this rate
//	429s       answers 429 (must be 0: the read never reaches the limit)
//
// fields names the properties, as detectors do (one request per page);
// all-fields names none (crm export): each page is listed and then read
// again with batch read, two requests per page. About 20 s and 40 s:
//
//	go test ./internal/crm/hubspot -run '^$' -bench BenchmarkPagedReadAtLatency -benchtime 1x
func BenchmarkPagedReadAtLatency(b *testing.B) {
	b.Run("fields", func(b *testing.B) { benchPagedRead(b, []string{"email", "firstname", "lastname"}) })
	b.Run("all-fields", func(b *testing.B) { benchPagedRead(b, nil) })
}

func benchPagedRead(b *testing.B, fields []string) {
	const records = 10_000
	limit, err := TierLimit("professional")
	if err != nil {
		b.Fatal(err)
	}
	var last hubspottest.Stats
	var elapsed time.Duration
	for b.Loop() {
		s := hubspottest.New(hubspottest.Options{Token: testToken, RequestsPer10s: limit, Latency: latency100to300()})
		for i := range records {
			s.Seed("contacts", strconv.Itoa(1_000_001+i), map[string]string{
				"email": fmt.Sprintf("p%d@x.com", i), "firstname": "First", "lastname": fmt.Sprintf("Last%d", i)})
		}
		c, err := New(Config{BaseURL: s.URL, Token: testToken, Tier: "professional"})
		if err != nil {
			b.Fatal(err)
		}
		// The property list of all-fields is read once per client; read
		// it before the clock starts, as a detector's run has long since.
		if fields == nil {
			if _, err := c.propertyNames(context.Background(), "contacts"); err != nil {
				b.Fatal(err)
			}
		}
		s.ResetStats()
		start := time.Now()
		n := 0
		err = c.List(context.Background(), "contacts", fields, func(r crm.Record) error {
			if r.Fields["email"] == "" {
				return fmt.Errorf("record %s read without its email", r.ID)
			}
			n++
			return nil
		})
		elapsed = time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if n != records {
			b.Fatalf("read %d records, want %d", n, records)
		}
		last = s.Stats()
		c.Close()
		s.Close()
	}
	perSecond := float64(records) / elapsed.Seconds()
	pages := float64(records) / float64(pageSize)
	b.ReportMetric(perSecond, "records/s")
	b.ReportMetric(100*float64(len(last.Accepted))*float64(Window)/float64(elapsed)/float64(limit), "%limit")
	b.ReportMetric(float64(elapsed.Milliseconds())/pages, "ms/page")
	b.ReportMetric(1_000_000/perSecond/60, "min-1M")
	b.ReportMetric(float64(len(last.Accepted)), "requests")
	b.ReportMetric(float64(len(last.RateLimited)), "429s")
	b.ReportMetric(elapsed.Seconds(), "wall-s")
}
