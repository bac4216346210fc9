package owner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmops/crmops/internal/detect"
)

func TestCancelledRunStops(t *testing.T) {
	db := seedOwners(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := mustDetector(t, rules).Detect(ctx, detect.Env{CRM: db, Dir: ".", Progress: detect.NoProgress{}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled run returned %v, want context.Canceled", err)
	}
}
