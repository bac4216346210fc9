//go:build unix

package apply

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it is steadier than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation spent while the timer ran.
func reportCPU(b *testing.B, spent time.Duration) {
	b.ReportMetric(float64(spent.Milliseconds())/float64(b.N), "cpu-ms/op")
}
