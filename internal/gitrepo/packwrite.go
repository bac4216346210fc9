package gitrepo

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// packObject is one object to write into a pack, in the order given.
type packObject struct {
	hash Hash
	typ  plumbing.ObjectType
	// key groups objects that are likely to delta well against each other:
	// the path of a tree or blob when it is known, a tree's first entry
	// otherwise. Only objects of the same type and key are tried as bases.
	key string
}

// Delta search limits. git's defaults are a window of 10 and a depth of 50;
// objects here are ordered so that an object's best base is almost always
// among the last few of its key, so a smaller window loses little and keeps
// the delta search (go-git's DiffDelta indexes the base on every try) cheap.
const (
	packWindowSize = 6
	packMaxDepth   = 50
)

// packWriter streams objects into a version 2 pack: each object is read once,
// compressed and written, and only the last few objects are kept as delta
// bases. go-git's packfile.Encoder instead holds every object of the pack in
// memory until it is done, which for a first push of a long history is
// gigabytes.
type packWriter struct {
	out    io.Writer
	sum    hash.Hash
	crc    hash.Hash32
	offset int64
	zw     *zlib.Writer
	zbuf   bytes.Buffer

	window []windowEntry
	next   int
	deltas bool

	idx   idxfile.Writer
	count uint32
	seen  map[Hash]bool
}

type windowEntry struct {
	typ    plumbing.ObjectType
	key    string
	data   []byte
	offset int64
	depth  int
}

// newPackWriter starts a pack of count objects on out. Without deltas every
// object is stored whole, for remotes that cannot take offset deltas.
func newPackWriter(out io.Writer, count uint32, deltas bool) (*packWriter, error) {
	w := &packWriter{out: out, sum: sha1.New(), crc: crc32.NewIEEE(), deltas: deltas, count: count, seen: make(map[Hash]bool, count)}
	w.zw = zlib.NewWriter(&w.zbuf)
	if deltas {
		w.window = make([]windowEntry, packWindowSize)
	}
	hdr := []byte{'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[8:], count)
	if err := w.write(hdr); err != nil {
		return nil, err
	}
	if err := w.idx.OnHeader(count); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *packWriter) write(p []byte) error {
	n, err := w.out.Write(p)
	w.sum.Write(p[:n])
	w.crc.Write(p[:n])
	w.offset += int64(n)
	return err
}

// add writes one object, as a delta against a recent object of its type and
// key when that is smaller.
func (w *packWriter) add(o packObject, data []byte) error {
	if err := w.mark(o.hash); err != nil {
		return err
	}
	start := w.offset
	w.crc.Reset()

	var delta []byte
	base := -1
	if w.deltas && len(data) > 64 {
		// A delta is only worth its indirection when it saves at least
		// half, as git requires.
		best := len(data)/2 - 20
		for i := 1; i <= len(w.window); i++ {
			k := (w.next - i + len(w.window)) % len(w.window)
			e := &w.window[k]
			if e.data == nil || e.typ != o.typ || e.key != o.key || e.depth >= packMaxDepth {
				continue
			}
			if len(e.data) < len(data)/4 || len(e.data) > len(data)*4 {
				continue
			}
			d := packfile.DiffDelta(e.data, data)
			if len(d) < best {
				best, delta, base = len(d), d, k
				if len(d) < len(data)/32 {
					break
				}
			}
		}
	}

	depth := 0
	payload := data
	var hdr []byte
	if base >= 0 {
		e := w.window[base]
		depth = e.depth + 1
		payload = delta
		hdr = appendEntryHeader(nil, plumbing.OFSDeltaObject, int64(len(delta)))
		hdr = appendOffset(hdr, start-e.offset)
	} else {
		hdr = appendEntryHeader(nil, o.typ, int64(len(data)))
	}
	if err := w.write(hdr); err != nil {
		return err
	}
	w.zbuf.Reset()
	w.zw.Reset(&w.zbuf)
	if _, err := w.zw.Write(payload); err != nil {
		return err
	}
	if err := w.zw.Close(); err != nil {
		return err
	}
	if err := w.write(w.zbuf.Bytes()); err != nil {
		return err
	}
	w.idx.Add(o.hash, uint64(start), w.crc.Sum32())

	if w.deltas {
		w.window[w.next] = windowEntry{typ: o.typ, key: o.key, data: data, offset: start, depth: depth}
		w.next = (w.next + 1) % len(w.window)
	}
	return nil
}

// copyPack appends every entry of the pack at packPath (with index idx) that
// is not in the pack already, compressed data as it is: git's delta reuse.
// Entries are copied in their order in the old pack, so every offset delta's
// base comes before it, and each delta's distance is rewritten for its base's
// new place (a base met before, in an earlier pack copied, is pointed to
// there). Each entry's CRC-32 is checked against the one recorded when it
// was first written, so a copy is proven to be the same bytes.
func (w *packWriter) copyPack(packPath string, idx *idxfile.MemoryIndex, newOffset map[Hash]int64) (int, error) {
	f, err := os.Open(packPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size() - 20
	iter, err := idx.EntriesByOffset()
	if err != nil {
		return 0, err
	}
	defer iter.Close()
	var entries []idxfile.Entry
	for {
		e, err := iter.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		entries = append(entries, *e)
	}
	byOffset := make(map[uint64]Hash, len(entries))
	for _, e := range entries {
		byOffset[e.Offset] = e.Hash
	}
	rd := bufio.NewReaderSize(f, 1<<16)
	if _, err := rd.Discard(12); err != nil {
		return 0, err
	}
	pos := uint64(12)
	copied := 0
	var raw []byte
	for i, e := range entries {
		next := uint64(end)
		if i+1 < len(entries) {
			next = entries[i+1].Offset
		}
		if e.Offset != pos || next < e.Offset {
			return copied, fmt.Errorf("copy %s: entry %s at %d, expected %d", packPath, e.Hash, e.Offset, pos)
		}
		n := int(next - e.Offset)
		if cap(raw) < n {
			raw = make([]byte, n)
		}
		raw = raw[:n]
		if _, err := io.ReadFull(rd, raw); err != nil {
			return copied, fmt.Errorf("copy %s: %w", packPath, err)
		}
		pos = next
		if crc32.ChecksumIEEE(raw) != e.CRC32 {
			return copied, fmt.Errorf("copy %s: entry %s fails its CRC", packPath, e.Hash)
		}
		if _, dup := newOffset[e.Hash]; dup {
			continue
		}
		typ, size, hdrLen, err := parseEntryHeader(raw)
		if err != nil {
			return copied, fmt.Errorf("copy %s: entry %s: %w", packPath, e.Hash, err)
		}
		start := w.offset
		w.crc.Reset()
		if typ == plumbing.OFSDeltaObject {
			dist, n, err := parseOffset(raw[hdrLen:])
			if err != nil {
				return copied, fmt.Errorf("copy %s: entry %s: %w", packPath, e.Hash, err)
			}
			baseHash, ok := byOffset[e.Offset-uint64(dist)]
			if !ok {
				return copied, fmt.Errorf("copy %s: entry %s: no object at its base offset", packPath, e.Hash)
			}
			baseNew, ok := newOffset[baseHash]
			if !ok {
				return copied, fmt.Errorf("copy %s: entry %s: base %s not copied yet", packPath, e.Hash, baseHash)
			}
			hdr := appendOffset(appendEntryHeader(nil, typ, size), start-baseNew)
			if err := w.write(hdr); err != nil {
				return copied, err
			}
			if err := w.write(raw[hdrLen+n:]); err != nil {
				return copied, err
			}
		} else if err := w.write(raw); err != nil {
			return copied, err
		}
		if err := w.mark(e.Hash); err != nil {
			return copied, err
		}
		w.idx.Add(e.Hash, uint64(start), w.crc.Sum32())
		newOffset[e.Hash] = start
		copied++
	}
	if pos != uint64(end) {
		return copied, fmt.Errorf("copy %s: %d bytes after the last entry", packPath, uint64(end)-pos)
	}
	return copied, nil
}

// mark records h as written, refusing more objects than announced.
func (w *packWriter) mark(h Hash) error {
	if w.seen[h] {
		return fmt.Errorf("pack: object %s listed twice", h)
	}
	w.seen[h] = true
	if uint32(len(w.seen)) > w.count {
		return fmt.Errorf("pack: more objects than the %d announced", w.count)
	}
	return nil
}

// parseEntryHeader reads a pack entry's type and inflated size.
func parseEntryHeader(b []byte) (plumbing.ObjectType, int64, int, error) {
	if len(b) == 0 {
		return 0, 0, 0, errors.New("empty entry")
	}
	c := b[0]
	typ := plumbing.ObjectType((c >> 4) & 7)
	size := int64(c & 0x0f)
	shift := uint(4)
	i := 1
	for c&0x80 != 0 {
		if i >= len(b) || shift > 56 {
			return 0, 0, 0, errors.New("bad entry header")
		}
		c = b[i]
		size |= int64(c&0x7f) << shift
		shift += 7
		i++
	}
	return typ, size, i, nil
}

// parseOffset reads an offset delta's distance to its base.
func parseOffset(b []byte) (int64, int, error) {
	if len(b) == 0 {
		return 0, 0, errors.New("bad delta offset")
	}
	c := b[0]
	off := int64(c & 0x7f)
	i := 1
	for c&0x80 != 0 {
		if i >= len(b) || i > 9 {
			return 0, 0, errors.New("bad delta offset")
		}
		c = b[i]
		off = ((off + 1) << 7) | int64(c&0x7f)
		i++
	}
	return off, i, nil
}

// finish writes the trailer and returns the pack's checksum, which names it,
// and its index.
func (w *packWriter) finish() (Hash, *idxfile.MemoryIndex, error) {
	if uint32(len(w.seen)) != w.count {
		return ZeroHash, nil, fmt.Errorf("pack: %d objects written, %d announced", len(w.seen), w.count)
	}
	var h Hash
	copy(h[:], w.sum.Sum(nil))
	if _, err := w.out.Write(h[:]); err != nil {
		return ZeroHash, nil, err
	}
	if err := w.idx.OnFooter(h); err != nil {
		return ZeroHash, nil, err
	}
	idx, err := w.idx.Index()
	return h, idx, err
}

// appendEntryHeader encodes a pack entry's type and inflated size.
func appendEntryHeader(b []byte, t plumbing.ObjectType, size int64) []byte {
	c := byte(t)<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(b, c)
}

// appendOffset encodes an offset delta's distance back to its base in git's
// big-endian base-128 form, where each continuation adds one.
func appendOffset(b []byte, off int64) []byte {
	var buf [10]byte
	pos := len(buf) - 1
	buf[pos] = byte(off & 0x7f)
	for off >>= 7; off > 0; off >>= 7 {
		off--
		pos--
		buf[pos] = 0x80 | byte(off&0x7f)
	}
	return append(b, buf[pos:]...)
}

// readObject returns an object's type and content from src.
func readObject(src objectReader, h Hash) (plumbing.ObjectType, []byte, error) {
	o, err := src.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return plumbing.InvalidObject, nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return plumbing.InvalidObject, nil, err
	}
	defer rd.Close()
	data := make([]byte, 0, o.Size())
	buf := bytes.NewBuffer(data)
	if _, err := io.Copy(buf, rd); err != nil {
		return plumbing.InvalidObject, nil, err
	}
	return o.Type(), buf.Bytes(), nil
}

type objectReader interface {
	EncodedObject(plumbing.ObjectType, plumbing.Hash) (plumbing.EncodedObject, error)
}

// writePackFrom writes objs, in order, read from src, as one pack on out.
func writePackFrom(out io.Writer, src objectReader, objs []packObject, deltas bool) (Hash, *idxfile.MemoryIndex, error) {
	w, err := newPackWriter(out, uint32(len(objs)), deltas)
	if err != nil {
		return ZeroHash, nil, err
	}
	for _, o := range objs {
		t, data, err := readObject(src, o.hash)
		if err != nil {
			return ZeroHash, nil, fmt.Errorf("pack: read %s: %w", o.hash, err)
		}
		o.typ = t
		if err := w.add(o, data); err != nil {
			return ZeroHash, nil, err
		}
	}
	return w.finish()
}
