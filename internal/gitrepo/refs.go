package gitrepo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// BranchRef is the full reference name of a branch: BranchRef("main") is
// "refs/heads/main".
func BranchRef(branch string) string {
	return plumbing.NewBranchReferenceName(branch).String()
}

// Ref resolves a full reference name ("refs/heads/main", "refs/crmops/reviews/x",
// "HEAD") to the commit it names, following symbolic references. A missing
// reference, or HEAD on an unborn branch, is ErrRefNotFound.
func (r *Repo) Ref(name string) (Hash, error) {
	ref, err := storer.ResolveReference(r.storer, plumbing.ReferenceName(name))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return ZeroHash, fmt.Errorf("ref %s: %w", name, ErrRefNotFound)
	}
	if err != nil {
		return ZeroHash, fmt.Errorf("ref %s: %w", name, err)
	}
	return ref.Hash(), nil
}

// Refs lists the references whose names start with prefix, resolved to hashes.
func (r *Repo) Refs(prefix string) (map[string]Hash, error) {
	iter, err := r.storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list refs %s: %w", prefix, err)
	}
	out := map[string]Hash{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference && strings.HasPrefix(ref.Name().String(), prefix) {
			out[ref.Name().String()] = ref.Hash()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list refs %s: %w", prefix, err)
	}
	return out, nil
}

// SetRef points the reference name at h, creating or overwriting it.
func (r *Repo) SetRef(name string, h Hash) error {
	if err := checkRefName(name); err != nil {
		return err
	}
	if err := r.storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), h)); err != nil {
		return fmt.Errorf("set ref %s: %w", name, err)
	}
	return nil
}

// UpdateRef moves name from old to h only if it is still at old (ZeroHash:
// only if it does not exist); otherwise it returns ErrRefMoved. It is the
// local counterpart of a non-forced push.
func (r *Repo) UpdateRef(name string, old, h Hash) error {
	if err := checkRefName(name); err != nil {
		return err
	}
	refName := plumbing.ReferenceName(name)
	cur, err := r.storer.Reference(refName)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		if !old.IsZero() {
			return fmt.Errorf("update ref %s: expected %s, found none: %w", name, old, ErrRefMoved)
		}
	case err != nil:
		return fmt.Errorf("update ref %s: %w", name, err)
	case cur.Type() != plumbing.HashReference || cur.Hash() != old:
		return fmt.Errorf("update ref %s: expected %s, found %s: %w", name, old, cur.Hash(), ErrRefMoved)
	}
	var oldRef *plumbing.Reference
	if !old.IsZero() {
		oldRef = plumbing.NewHashReference(refName, old)
	}
	// go-git re-checks old under the ref's lock, so a concurrent writer loses
	// cleanly instead of being overwritten.
	if err := r.storer.CheckAndSetReference(plumbing.NewHashReference(refName, h), oldRef); err != nil {
		if errors.Is(err, storage.ErrReferenceHasChanged) {
			return fmt.Errorf("update ref %s: %w", name, ErrRefMoved)
		}
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	return nil
}

// DeleteRef removes the reference; deleting one that does not exist is not an
// error, so cleanup can be retried.
func (r *Repo) DeleteRef(name string) error {
	if err := r.storer.RemoveReference(plumbing.ReferenceName(name)); err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return fmt.Errorf("delete ref %s: %w", name, err)
	}
	return nil
}

// headBranch is the branch HEAD names, or "" when HEAD is detached.
func (r *Repo) headBranch() (string, error) {
	head, err := r.storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", fmt.Errorf("read HEAD: %w", err)
	}
	if head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
		return "", nil
	}
	return head.Target().Short(), nil
}

func checkRefName(name string) error {
	if name == "HEAD" {
		return nil
	}
	if !strings.HasPrefix(name, "refs/") || plumbing.ReferenceName(name).Validate() != nil {
		return fmt.Errorf("invalid ref name %q: want a full name such as refs/heads/main", name)
	}
	return nil
}
