package dedupe

import (
	"hash/maphash"
	"unsafe"
)

// A table holds every record's ids and distinct values; at ten million
// contacts a Go string per value (a 16-byte header, a separate allocation
// rounded up to its size class, a map entry to find it) costs several times
// the value's bytes, and the garbage collector scans every one. So strings
// live in an arena instead: their bytes side by side in large chunks that
// hold no pointers, each string named by one uint64.

const (
	// arenaChunkBits sizes the chunks strings are copied into (1 MiB).
	arenaChunkBits = 20
	// arenaLenBits is the width of a string's length in its ref; a longer
	// value is cut to that length (16 MiB), far beyond any field compared.
	arenaLenBits = 24
	arenaMaxLen  = 1<<arenaLenBits - 1
)

// strArena stores strings by number, in the order added.
type strArena struct {
	// chunks are never reallocated once written, so a string made from
	// one stays valid while the arena lives.
	chunks [][]byte
	// refs holds each string's position (chunk << arenaChunkBits |
	// offset) << arenaLenBits | length.
	refs []uint64
}

// add copies s (cut to arenaMaxLen) into the arena and returns its number.
func (a *strArena) add(s string) uint32 {
	s = clip(s)
	k := uint32(len(a.refs))
	if s == "" {
		a.refs = append(a.refs, 0)
		return k
	}
	last := len(a.chunks) - 1
	if last < 0 || cap(a.chunks[last])-len(a.chunks[last]) < len(s) {
		// A string larger than a quarter chunk gets a chunk of its own,
		// so that a few long values do not waste most of a chunk each.
		size := 1 << arenaChunkBits
		if len(s) > size/4 {
			size = len(s)
		}
		a.chunks = append(a.chunks, make([]byte, 0, size))
		last++
	}
	c := a.chunks[last]
	pos := uint64(last)<<arenaChunkBits | uint64(len(c))
	a.chunks[last] = append(c, s...)
	a.refs = append(a.refs, pos<<arenaLenBits|uint64(len(s)))
	return k
}

// at is string number k.
func (a *strArena) at(k uint32) string {
	ref := a.refs[k]
	n := int(ref & arenaMaxLen)
	if n == 0 {
		return ""
	}
	pos := ref >> arenaLenBits
	c := a.chunks[pos>>arenaChunkBits]
	return unsafe.String(&c[pos&(1<<arenaChunkBits-1)], n)
}

// len is the number of strings added.
func (a *strArena) len() int { return len(a.refs) }

func clip(s string) string {
	if len(s) > arenaMaxLen {
		return s[:arenaMaxLen]
	}
	return s
}

// interner stores each distinct string once and names it by number; 0 is
// the empty string. Numbers are given in the order strings are first seen,
// so they repeat from run to run whatever the hash seed.
type interner struct {
	strArena
	seed maphash.Seed
	// slots is an open-addressing hash table of string numbers (0: free),
	// at most half full; nil once nothing more is looked up (rebuilt if
	// something is).
	slots []uint32
}

func newInterner() *interner {
	in := &interner{seed: maphash.MakeSeed(), slots: make([]uint32, 16)}
	in.add("")
	return in
}

// id is s's number, adding s (a copy: s may be reused by the caller) when
// it is new.
func (in *interner) id(s string) uint32 {
	if s == "" {
		return 0
	}
	s = clip(s)
	if 2*len(in.refs) >= len(in.slots) {
		in.grow()
	}
	mask := uint64(len(in.slots) - 1)
	for i := maphash.String(in.seed, s) & mask; ; i = (i + 1) & mask {
		k := in.slots[i]
		if k == 0 {
			k = in.add(s)
			in.slots[i] = k
			return k
		}
		if in.at(k) == s {
			return k
		}
	}
}

// grow doubles the hash table, or rebuilds it after the table let it go
// (see table.finish).
func (in *interner) grow() {
	size := 16
	for size <= 2*len(in.refs) {
		size *= 2
	}
	slots := make([]uint32, size)
	mask := uint64(len(slots) - 1)
	for k := 1; k < len(in.refs); k++ {
		i := maphash.String(in.seed, in.at(uint32(k))) & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint32(k)
	}
	in.slots = slots
}

func (in *interner) str(id uint32) string { return in.at(id) }
