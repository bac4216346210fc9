//go:build !unix

package gitrepo

// lockFile is a no-op where flock is unavailable: run one crmops at a time.
func lockFile(path string) (func(), error) { return func() {}, nil }
