// Command crmops makes every change to a company's CRM data a reviewed,
// auditable git commit: detectors propose, a policy or a person approves,
// and only then does anything execute.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, newFactory(os.Stdin, os.Stdout, os.Stderr, os.Getenv), os.Args[1:]))
}
