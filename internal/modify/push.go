package modify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/crmops/crmops/internal/gitrepo"
)

// RefUpdate moves one ref on a remote from exactly Old to New. A zero Old
// creates the ref (it must not exist); a zero New deletes it.
type RefUpdate struct {
	Name     string
	Old, New gitrepo.Hash
}

// CompareAndSwap applies updates on the remote in one request, atomically,
// and only if every ref is still at its Old: the remote itself checks each
// old value under its ref lock, so a ref that moved meanwhile (another
// drop, a merge, a deletion) refuses the whole request, with an error
// wrapping gitrepo.ErrRejected. gitrepo.Push, by contrast, takes the old
// value from the remote's advertisement and accepts any fast-forward, or
// re-creates a deleted ref.
//
// Each new commit's parents must already be on the remote, at or below an
// updated ref's Old: the commits sent are the new ones only, with the trees
// and blobs their parents lack.
//
// Remote-tracking refs are not touched: the caller mirrors the updates, as
// it holds the checkout's lock.
func CompareAndSwap(ctx context.Context, repo *gitrepo.Repo, remote string, updates ...RefUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	url, err := repo.RemoteURL(remote)
	if err != nil {
		return err
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return fmt.Errorf("remote %s: %w", remote, err)
	}
	tr, err := client.NewClient(ep)
	if err != nil {
		return fmt.Errorf("remote %s: %w", remote, err)
	}
	sess, err := tr.NewReceivePackSession(ep, repo.Auth)
	if err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	advertised := map[string]plumbing.Hash{}
	caps := capability.NewList()
	if ar != nil {
		advertised, caps = ar.References, ar.Capabilities
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(caps)
	var wants, olds []gitrepo.Hash
	for _, u := range updates {
		if now := advertised[u.Name]; now != u.Old {
			return fmt.Errorf("push %s: %s is at %s, not %s: %w", remote, u.Name, describe(now), describe(u.Old), gitrepo.ErrRejected)
		}
		if u.New.IsZero() && !caps.Supports(capability.DeleteRefs) {
			return fmt.Errorf("push %s: the remote does not support deleting refs", remote)
		}
		req.Commands = append(req.Commands, &packp.Command{Name: plumbing.ReferenceName(u.Name), Old: u.Old, New: u.New})
		if !u.New.IsZero() {
			wants = append(wants, u.New)
		}
		if !u.Old.IsZero() {
			olds = append(olds, u.Old)
		}
	}
	if len(updates) > 1 {
		if !caps.Supports(capability.Atomic) {
			return fmt.Errorf("push %s: the remote does not support atomic pushes", remote)
		}
		if err := req.Capabilities.Set(capability.Atomic); err != nil {
			return fmt.Errorf("push %s: %w", remote, err)
		}
	}
	done := make(chan error, 1)
	if len(wants) > 0 {
		var others []gitrepo.Hash
		for _, h := range advertised {
			others = append(others, h)
		}
		objs, err := objectsToSend(repo, wants, olds, others)
		if err != nil {
			return fmt.Errorf("push %s: %w", remote, err)
		}
		pr, pw := io.Pipe()
		req.Packfile = pr
		refDeltas := !caps.Supports(capability.OFSDelta)
		go func() {
			_, err := packfile.NewEncoder(pw, repo.Git().Storer, refDeltas).Encode(objs, 0)
			pw.CloseWithError(err)
			done <- err
		}()
	} else {
		close(done)
	}
	report, err := sess.ReceivePack(ctx, req)
	if req.Packfile != nil {
		req.Packfile.Close()
	}
	if encErr := <-done; encErr != nil && err == nil {
		err = encErr
	}
	if report != nil {
		if rerr := refused(report); rerr != nil {
			return fmt.Errorf("push %s: %w", remote, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	return nil
}

func describe(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing (no such ref)"
	}
	return h.String()
}

// refused turns the remote's report into an error: a ref that was not
// where the request said wraps gitrepo.ErrRejected; a hook or protection
// refusing it does not, since trying again cannot help.
func refused(report *packp.ReportStatus) error {
	if report.UnpackStatus != "" && report.UnpackStatus != "ok" {
		return fmt.Errorf("the remote failed to unpack: %s", report.UnpackStatus)
	}
	var errs []error
	for _, cs := range report.CommandStatuses {
		switch {
		case cs.Status == "ok":
		case moved(cs.Status):
			errs = append(errs, fmt.Errorf("%s: %s: %w", cs.ReferenceName, cs.Status, gitrepo.ErrRejected))
		default:
			errs = append(errs, fmt.Errorf("the remote refused %s: %s", cs.ReferenceName, cs.Status))
		}
	}
	return errors.Join(errs...)
}

func moved(status string) bool {
	for _, s := range []string{"non-fast-forward", "fetch first", "stale info", "failed to lock", "cannot lock ref", "failed to update ref", "atomic", "reference already exists"} {
		if strings.Contains(status, s) {
			return true
		}
	}
	return false
}

// objectsToSend lists each new commit with the trees and blobs that none of
// its parents has at the same path. Every parent must be one of olds or
// below one (or else below another ref the remote advertised): its objects
// are then on the remote already.
func objectsToSend(repo *gitrepo.Repo, wants, olds, others []gitrepo.Hash) ([]plumbing.Hash, error) {
	st := repo.Git().Storer
	send := map[plumbing.Hash]bool{}
	for _, w := range wants {
		c, err := object.GetCommit(st, w)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", w, err)
		}
		var bases []*object.Tree
		for _, p := range c.ParentHashes {
			ok, err := below(repo, p, olds)
			if err != nil {
				return nil, err
			}
			for _, h := range others {
				if ok {
					break
				}
				// A ref this repository lacks, or a tag, is no help.
				ok, _ = repo.IsAncestor(p, h)
			}
			if !ok {
				return nil, fmt.Errorf("parent %s of %s is not on the remote", p, w)
			}
			pc, err := object.GetCommit(st, p)
			if err != nil {
				return nil, err
			}
			t, err := pc.Tree()
			if err != nil {
				return nil, err
			}
			bases = append(bases, t)
		}
		send[w] = true
		if err := newTreeObjects(st, c.TreeHash, bases, send); err != nil {
			return nil, fmt.Errorf("objects of %s: %w", w, err)
		}
	}
	out := make([]plumbing.Hash, 0, len(send))
	for h := range send {
		out = append(out, h)
	}
	return out, nil
}

func below(repo *gitrepo.Repo, h gitrepo.Hash, olds []gitrepo.Hash) (bool, error) {
	for _, o := range olds {
		if o == h {
			return true, nil
		}
		if ok, err := repo.IsAncestor(h, o); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// newTreeObjects adds tree t, and what is below it, to send, except what
// one of the base trees holds at the same path.
func newTreeObjects(st storer.EncodedObjectStorer, t plumbing.Hash, bases []*object.Tree, send map[plumbing.Hash]bool) error {
	for _, b := range bases {
		if b.Hash == t {
			return nil
		}
	}
	if send[t] {
		return nil
	}
	tree, err := object.GetTree(st, t)
	if err != nil {
		return err
	}
	send[t] = true
	for _, e := range tree.Entries {
		if e.Mode == filemode.Submodule {
			continue // a commit of another repository
		}
		var subs []*object.Tree
		have := false
		for _, b := range bases {
			be, err := b.FindEntry(e.Name)
			if err != nil {
				continue
			}
			if be.Hash == e.Hash {
				have = true
				break
			}
			if be.Mode == filemode.Dir {
				if sub, err := object.GetTree(st, be.Hash); err == nil {
					subs = append(subs, sub)
				}
			}
		}
		switch {
		case have:
		case e.Mode == filemode.Dir:
			if err := newTreeObjects(st, e.Hash, subs, send); err != nil {
				return err
			}
		default:
			send[e.Hash] = true
		}
	}
	return nil
}
