//go:build !linux

package gitrepo

import (
	"io/fs"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// fillStat leaves the platform-specific stat fields zero off Linux: git then
// re-reads those files once on its next status, which is correct, only slower.
func fillStat(e *index.Entry, fi fs.FileInfo) {}
