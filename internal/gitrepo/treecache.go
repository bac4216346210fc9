package gitrepo

import (
	"sync"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeCache keeps recently used decoded trees. Trees are immutable, so a
// cached one is never stale; the cache matters because a chain of
// CommitTree calls re-reads the tree the previous call just wrote, and a
// proposals/ tree of 10,000 entries costs a millisecond to inflate and
// decode. Budgeted by entries, not trees, since their sizes differ by orders
// of magnitude.
type treeCache struct {
	mu      sync.Mutex
	trees   map[Hash]*object.Tree
	order   []Hash // insertion order, oldest first
	entries int
	budget  int
}

func newTreeCache(budget int) *treeCache {
	return &treeCache{trees: map[Hash]*object.Tree{}, budget: budget}
}

func (c *treeCache) get(h Hash) (*object.Tree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.trees[h]
	return t, ok
}

// put stores t, which the caller must not modify afterwards.
func (c *treeCache) put(t *object.Tree) {
	if len(t.Entries) > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.trees[t.Hash]; ok {
		return
	}
	for c.entries+len(t.Entries) > c.budget && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.entries -= len(c.trees[old].Entries)
		delete(c.trees, old)
	}
	c.trees[t.Hash] = t
	c.order = append(c.order, t.Hash)
	c.entries += len(t.Entries)
}
