//go:build !unix

package gitrepo

// lockFile is a no-op where flock is unavailable: run one crmops at a time.
func lockFile(path string) (func(), error) { return func() {}, nil }

// tryLockFile always succeeds where flock is unavailable: as for lockFile,
// run one crmops at a time there.
func tryLockFile(path string) (func(), bool, error) { return func() {}, true, nil }
