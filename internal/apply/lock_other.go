//go:build !unix

package apply

// lock is a no-op where flock is unavailable; run one apply at a time there.
func lock(path string) (func(), error) { return func() {}, ensureDir(path) }
