//go:build unix

package apply

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockWait is how long a second apply waits for the first to finish.
const lockWait = 2 * time.Minute

// lock takes an exclusive advisory lock that the kernel releases when the
// process dies, so a killed apply never leaves a stale lock behind. A
// second apply in the same repository waits for the first, up to lockWait.
func lock(path string) (func(), error) {
	if err := ensureDir(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (%s, waited %s)", errLocked, path, lockWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
