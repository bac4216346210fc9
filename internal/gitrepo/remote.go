package gitrepo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage"
)

// Fetch brings refs and their objects from the named remote. refspecs are
// git's ("refs/heads/*:refs/remotes/origin/*"); none means the remote's
// configured ones. Updates are forced, as the remote is the truth for the refs
// fetched into. When every destination is a remote-tracking ref
// (refs/remotes/), tracking refs whose branch vanished from the remote are
// pruned; other namespaces, such as review records written here and not yet
// pushed, are never pruned. A ref that is already current is not an error; a
// named source ref the remote lacks is ErrRefNotFound. Fetching into the
// checked-out branch moves the ref only: use AdvanceBranch to move a branch
// with its work tree.
func (r *Repo) Fetch(ctx context.Context, remote string, refspecs ...string) error {
	specs := make([]config.RefSpec, 0, len(refspecs))
	for _, s := range refspecs {
		if !strings.HasPrefix(s, "+") {
			s = "+" + s
		}
		rs := config.RefSpec(s)
		if err := rs.Validate(); err != nil {
			return fmt.Errorf("fetch %s %s: %w", remote, s, err)
		}
		specs = append(specs, rs)
	}
	prune := true
	pruneSpecs := specs
	if len(pruneSpecs) == 0 {
		if rem, err := r.git.Remote(remote); err == nil {
			pruneSpecs = rem.Config().Fetch
		}
	}
	for _, rs := range pruneSpecs {
		// Not rs.Dst(""): go-git's Dst panics on a wildcard spec given no name.
		_, dst, _ := strings.Cut(string(rs), ":")
		if !rs.IsWildcard() || !strings.HasPrefix(dst, "refs/remotes/") {
			prune = false
		}
	}
	opts := &git.FetchOptions{
		RemoteName: remote,
		RefSpecs:   specs,
		Auth:       r.Auth,
		Tags:       git.NoTags,
		Force:      true,
		Prune:      prune && len(pruneSpecs) > 0,
	}
	err := r.git.FetchContext(ctx, opts)
	// go-git updates each local ref with a compare-and-set against the value
	// it read when the fetch began; another crmops process in this checkout
	// (a push recording its tracking ref, a pruned branch) may change one in
	// between. Fetching again is safe: it converges on the remote's refs.
	for attempt := 0; attempt < 5 && racedFetch(err); attempt++ {
		err = r.git.FetchContext(ctx, opts)
	}
	var noMatch git.NoMatchingRefSpecError
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case errors.Is(err, transport.ErrEmptyRemoteRepository) && len(refspecs) == 0:
		return nil
	case errors.Is(err, transport.ErrEmptyRemoteRepository), errors.As(err, &noMatch):
		return fmt.Errorf("fetch %s %s: %w", remote, strings.Join(refspecs, " "), ErrRefNotFound)
	default:
		return fmt.Errorf("fetch %s %s: %w", remote, strings.Join(refspecs, " "), err)
	}
}

// racedFetch reports a fetch that lost a race with another process and
// converges when run again: a local ref changed under its compare-and-set,
// or a remote ref deleted between the advertisement and the request (the
// remote then answers "not our ref" for the hash go-git asked for).
func racedFetch(err error) bool {
	if err == nil {
		return false
	}
	// The remote side of a local (file) remote is a git upload-pack process
	// of its own: answering "not our ref" it exits, and go-git, still
	// writing its request, sees a broken pipe.
	msg := err.Error()
	return errors.Is(err, storage.ErrReferenceHasChanged) || errors.Is(err, plumbing.ErrReferenceNotFound) ||
		strings.Contains(msg, "not our ref") || strings.Contains(msg, "broken pipe")
}

// RemoteRefs lists the remote's refs whose names start with prefix (as
// git ls-remote does), e.g. "refs/heads/crmops/" for the open proposals.
func (r *Repo) RemoteRefs(ctx context.Context, remote, prefix string) (map[string]Hash, error) {
	sess, err := r.uploadSession(remote)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", remote, err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[string]Hash{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", remote, err)
	}
	out := map[string]Hash{}
	for name, h := range ar.References {
		if strings.HasPrefix(name, prefix) {
			out[name] = h
		}
	}
	return out, nil
}

// Push updates refs on the named remote. Each refspec is "src:dst",
// "+src:dst" (forced) or ":dst" (delete), where src is a full ref name or a
// commit hash and dst a full ref name; a lone "refs/heads/x" pushes x to
// itself. All updates are sent in one request, atomically where the remote
// supports it. Nothing to do is not an error, nor is deleting a ref the
// remote lacks. An unforced update that is not a fast-forward, or that the
// remote refuses because the ref moved meanwhile, returns an error wrapping
// ErrRejected: fetch, rebuild on the new tip and push again.
//
// Push computes what to send itself instead of calling go-git's
// Remote.PushContext, which lists every object reachable from the remote's
// refs before it sends anything: in a repository with thousands of
// receipts that is seconds to minutes per push. Here the commit walk stops
// where the remote's history begins and trees are compared with their
// parents', so pushing one new commit reads a handful of objects.
func (r *Repo) Push(ctx context.Context, remote string, refspecs ...string) error {
	sess, err := r.receiveSession(remote)
	if err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	advertised := map[string]Hash{}
	caps := capability.NewList()
	if ar != nil {
		advertised = ar.References
		caps = ar.Capabilities
	}

	var cmds []*packp.Command
	var wants []Hash
	for _, spec := range refspecs {
		cmd, err := r.pushCommand(spec, advertised)
		if err != nil {
			return fmt.Errorf("push %s %s: %w", remote, spec, err)
		}
		if cmd == nil {
			continue
		}
		cmds = append(cmds, cmd)
		if !cmd.New.IsZero() {
			wants = append(wants, cmd.New)
		}
	}
	return r.send(ctx, sess, remote, caps, advertised, cmds, wants)
}

// RefUpdate moves one ref on a remote from exactly Old to New. A zero Old
// creates the ref (it must not exist); a zero New deletes it.
type RefUpdate struct {
	Name     string
	Old, New Hash
}

// PushExpect applies updates on the remote in one request, atomically, and
// only if every ref is still at its Old: a ref that moved meanwhile (even by
// a fast-forward), was deleted, or was created refuses the whole request
// with an error wrapping ErrRejected. The remote checks each old value again
// under its ref lock. Push, by contrast, takes the old value from the
// remote's advertisement and accepts any fast-forward, or re-creates a
// deleted ref.
func (r *Repo) PushExpect(ctx context.Context, remote string, updates ...RefUpdate) error {
	sess, err := r.receiveSession(remote)
	if err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	advertised := map[string]Hash{}
	caps := capability.NewList()
	if ar != nil {
		advertised, caps = ar.References, ar.Capabilities
	}
	if len(updates) > 1 && !caps.Supports(capability.Atomic) {
		return fmt.Errorf("push %s: the remote does not support atomic pushes", remote)
	}
	var cmds []*packp.Command
	var wants []Hash
	for _, u := range updates {
		if err := checkRefName(u.Name); err != nil {
			return fmt.Errorf("push %s: %w", remote, err)
		}
		if now := advertised[u.Name]; now != u.Old {
			return fmt.Errorf("push %s: %s is at %s, not %s: %w", remote, u.Name, describeHash(now), describeHash(u.Old), ErrRejected)
		}
		if !u.New.IsZero() {
			if _, ok := r.peelToCommit(u.New); !ok {
				return fmt.Errorf("push %s: %s is not a commit in this repository", remote, u.New)
			}
			wants = append(wants, u.New)
		}
		cmds = append(cmds, &packp.Command{Name: plumbing.ReferenceName(u.Name), Old: u.Old, New: u.New})
	}
	return r.send(ctx, sess, remote, caps, advertised, cmds, wants)
}

func describeHash(h Hash) string {
	if h.IsZero() {
		return "nothing (no such ref)"
	}
	return h.String()
}

// send sends cmds, and the objects the remote lacks for wants, in one
// request, then mirrors them in the remote-tracking refs.
func (r *Repo) send(ctx context.Context, sess transport.ReceivePackSession, remote string, caps *capability.List, advertised map[string]Hash, cmds []*packp.Command, wants []Hash) error {
	if len(cmds) == 0 {
		return nil
	}
	if len(wants) < len(cmds) && !caps.Supports(capability.DeleteRefs) {
		return fmt.Errorf("push %s: remote does not support deleting refs", remote)
	}

	req := packp.NewReferenceUpdateRequestFromCapabilities(caps)
	req.Commands = cmds
	if len(cmds) > 1 && caps.Supports(capability.Atomic) {
		if err := req.Capabilities.Set(capability.Atomic); err != nil {
			return fmt.Errorf("push %s: %w", remote, err)
		}
	}

	done := make(chan error, 1)
	if len(wants) > 0 {
		haves := make([]Hash, 0, len(advertised))
		for _, h := range advertised {
			if c, ok := r.peelToCommit(h); ok {
				haves = append(haves, c)
			}
		}
		objs, err := r.objectsToSend(wants, haves)
		if err != nil {
			return fmt.Errorf("push %s: %w", remote, err)
		}
		// Stream the pack: objects are read, compressed and written one at
		// a time, so a large first push does not sit in memory.
		pr, pw := io.Pipe()
		req.Packfile = pr
		deltas := caps.Supports(capability.OFSDelta) && len(objs) >= 50
		go func() {
			bw := bufio.NewWriterSize(pw, 1<<16)
			_, _, err := writePackFrom(bw, r.storer, objs, deltas)
			if err == nil {
				err = bw.Flush()
			}
			pw.CloseWithError(err)
			done <- err
		}()
	} else {
		close(done)
	}

	report, err := sess.ReceivePack(ctx, req)
	if req.Packfile != nil {
		// Unblock the encoder if the remote stopped reading early.
		req.Packfile.Close()
	}
	if encErr := <-done; encErr != nil && err == nil {
		err = encErr
	}
	if report != nil {
		if rerr := refusal(report); rerr != nil {
			return fmt.Errorf("push %s: %w", remote, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	if err := r.trackPushed(remote, cmds); err != nil {
		return err
	}
	r.autoPack(remote)
	return nil
}

// autoPack packs loose objects, here and in a local remote, once a push has
// made it to the remote: crmops writes objects loose, git receive-pack
// stores a small push loose, and neither would ever be packed otherwise
// (git's own gc --auto waits for 6,700, see autoPackLoose). Packing is
// housekeeping: the push has happened, so a failure here is not the push's
// and is left for the next push to retry.
func (r *Repo) autoPack(remote string) {
	if r.noAutoPack {
		return
	}
	_, _ = r.MaybePack()
	if dir, ok := r.localRemoteGitDir(remote); ok {
		_, _ = MaybePackDir(dir)
	}
}

// localRemoteGitDir is the git directory of a remote that is a path on this
// machine (the local forge's bare repository, or another checkout).
func (r *Repo) localRemoteGitDir(remote string) (string, bool) {
	url, err := r.RemoteURL(remote)
	if err != nil {
		return "", false
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil || ep.Protocol != "file" {
		return "", false
	}
	dir := ep.Path
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		return filepath.Join(dir, ".git"), true
	}
	if _, err := os.Stat(filepath.Join(dir, "objects")); err != nil {
		return "", false
	}
	return dir, true
}

// pushCommand turns one refspec into a ref update, or nil when the remote is
// already in the requested state.
func (r *Repo) pushCommand(spec string, advertised map[string]Hash) (*packp.Command, error) {
	force := strings.HasPrefix(spec, "+")
	spec = strings.TrimPrefix(spec, "+")
	src, dst, ok := strings.Cut(spec, ":")
	if !ok {
		dst = src
	}
	if err := checkRefName(dst); err != nil || dst == "HEAD" {
		return nil, fmt.Errorf("invalid destination %q: want a full ref name", dst)
	}
	old := advertised[dst]
	if src == "" {
		if old.IsZero() {
			return nil, nil
		}
		return &packp.Command{Name: plumbing.ReferenceName(dst), Old: old, New: ZeroHash}, nil
	}
	var h Hash
	if plumbing.IsHash(src) {
		h = plumbing.NewHash(src)
	} else {
		var err error
		if h, err = r.Ref(src); err != nil {
			return nil, err
		}
	}
	if _, ok := r.peelToCommit(h); !ok {
		return nil, fmt.Errorf("%s is not a commit in this repository", src)
	}
	if old == h {
		return nil, nil
	}
	if !force && !old.IsZero() {
		if _, ok := r.peelToCommit(old); !ok {
			return nil, fmt.Errorf("remote %s is at %s, which is not here (fetch first): %w", dst, old, ErrRejected)
		}
		ff, err := r.IsAncestor(old, h)
		if err != nil {
			return nil, err
		}
		if !ff {
			return nil, fmt.Errorf("remote %s is at %s, not an ancestor of %s (non-fast-forward): %w", dst, old, h, ErrRejected)
		}
	}
	return &packp.Command{Name: plumbing.ReferenceName(dst), Old: old, New: h}, nil
}

// refusal turns the remote's report into an error. Refusals that mean "the
// ref is not where you thought" wrap ErrRejected so the caller retries; hooks
// and protections do not, since retrying cannot help.
func refusal(report *packp.ReportStatus) error {
	if report.UnpackStatus != "" && report.UnpackStatus != "ok" {
		return fmt.Errorf("remote failed to unpack: %s", report.UnpackStatus)
	}
	var errs []error
	for _, cs := range report.CommandStatuses {
		if cs.Status == "ok" {
			continue
		}
		if retryableStatus(cs.Status) {
			errs = append(errs, fmt.Errorf("%s: %s: %w", cs.ReferenceName, cs.Status, ErrRejected))
		} else {
			errs = append(errs, fmt.Errorf("remote refused %s: %s", cs.ReferenceName, cs.Status))
		}
	}
	return errors.Join(errs...)
}

func retryableStatus(status string) bool {
	for _, s := range []string{"non-fast-forward", "fetch first", "stale info", "failed to lock", "cannot lock ref", "failed to update ref", "atomic", "reference already exists"} {
		if strings.Contains(status, s) {
			return true
		}
	}
	return false
}

// trackPushed mirrors pushed updates into remote-tracking refs, as git push
// does, so a later local read of refs/remotes/<remote>/ sees them without a
// fetch.
func (r *Repo) trackPushed(remote string, cmds []*packp.Command) error {
	rem, err := r.git.Remote(remote)
	if err != nil {
		return nil
	}
	for _, spec := range rem.Config().Fetch {
		for _, c := range cmds {
			if !spec.Match(c.Name) {
				continue
			}
			local := spec.Dst(c.Name)
			if c.New.IsZero() {
				err = r.DeleteRef(local.String())
			} else {
				err = r.SetRef(local.String(), c.New)
			}
			if err != nil {
				return fmt.Errorf("push %s: pushed, but tracking ref: %w", remote, err)
			}
		}
	}
	return nil
}

func (r *Repo) uploadSession(remote string) (transport.UploadPackSession, error) {
	tr, ep, err := r.transport(remote)
	if err != nil {
		return nil, err
	}
	return tr.NewUploadPackSession(ep, r.Auth)
}

func (r *Repo) receiveSession(remote string) (transport.ReceivePackSession, error) {
	tr, ep, err := r.transport(remote)
	if err != nil {
		return nil, err
	}
	return tr.NewReceivePackSession(ep, r.Auth)
}

func (r *Repo) transport(remote string) (transport.Transport, *transport.Endpoint, error) {
	url, err := r.RemoteURL(remote)
	if err != nil {
		return nil, nil, err
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, nil, fmt.Errorf("remote %s: %w", remote, err)
	}
	tr, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, fmt.Errorf("remote %s: %w", remote, err)
	}
	return tr, ep, nil
}
