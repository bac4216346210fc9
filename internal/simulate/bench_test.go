package simulate_test

import (
	"os"
	"sync"
	"testing"

	"github.com/crmops/crmops/internal/simulate"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// history5000 is a checkout with 5,000 batches of 20 changes (100,000
// changes), each with its receipt, seeded once per test binary.
func history5000(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "crmops-simulate-bench-")
		if benchErr == nil {
			seedHistory(b, benchDir, 5000, 20, applied, 5000)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func benchSimulate(b *testing.B) {
	dir := history5000(b)
	pol := edited(b, "min_confidence: 0.9}", "min_confidence: 0.95}")
	b.ResetTimer()
	for b.Loop() {
		rep, err := simulate.Run(dir, pol, simulate.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Changes != 100000 || rep.ToReview.Changes == 0 || len(rep.Errors) != 0 {
			b.Fatalf("replayed %d changes, %d to review, errors %v", rep.Changes, rep.ToReview.Changes, rep.Errors)
		}
	}
}

// BenchmarkSimulate5000 replays 5,000 batches of 20 changes with their
// receipts (10,000 files, 100,000 changes) under a stricter policy.
func BenchmarkSimulate5000(b *testing.B) { benchSimulate(b) }
