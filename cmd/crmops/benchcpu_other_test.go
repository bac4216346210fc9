//go:build !unix

package main

import (
	"os/exec"
	"time"
)

func cpuUsed() time.Duration { return 0 }

func cpuOf(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}
