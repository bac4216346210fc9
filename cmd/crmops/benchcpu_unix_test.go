//go:build unix

package main

import (
	"os/exec"
	"syscall"
	"time"
)

// cpuUsed is the CPU time this process has used so far, all goroutines
// and the garbage collector included: on a machine shared with other
// work, it compares crmops with its yardstick where wall time cannot.
func cpuUsed() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf is the CPU time a finished command and the children it waited
// for used.
func cpuOf(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}
