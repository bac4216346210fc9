package dedupe

import (
	"fmt"
	"strings"
	"testing"
)

// The interner gives each distinct value one number, in first-seen order,
// and gives back the value whatever the caller did with its own copy.
func TestInternerNumbersValuesOnceInOrder(t *testing.T) {
	in := newInterner()
	buf := []byte("reused")
	var want []string
	for i := range 100_000 {
		v := fmt.Sprintf("anna.berg%d@acme.io", i%70_000)
		if i < 70_000 {
			want = append(want, v)
		}
		copy(buf, "xxxxxx") // a caller reusing its buffer changes nothing
		if got := in.id(v); int(got) != i%70_000+1 {
			t.Fatalf("%q: id %d, want %d", v, got, i%70_000+1)
		}
	}
	if in.id("") != 0 || in.str(0) != "" {
		t.Fatal("the empty string is not 0")
	}
	if in.len() != 70_001 {
		t.Fatalf("%d values, want 70,001", in.len())
	}
	for k, v := range want {
		if got := in.str(uint32(k + 1)); got != v {
			t.Fatalf("value %d is %q, want %q", k+1, got, v)
		}
	}
	long := strings.Repeat("x", 1<<20+3) // longer than a chunk
	id := in.id(long)
	if in.str(id) != long || in.id(long) != id || in.id("after") != id+1 || in.str(id+1) != "after" {
		t.Fatal("a value longer than a chunk is not kept whole")
	}
}

// A grouped linker scores its records' pairs exactly as the whole table's
// linker did: counts and word weights are those of the whole table.
func TestSubsetScoresPairsAsTheWholeTable(t *testing.T) {
	tb := newTable("contacts", defaultFields["contacts"])
	for i := range 200 {
		tb.add(rec(fmt.Sprint(1000+i), "email", fmt.Sprintf("p%d@acme.io", i%150), "firstname", []string{"anna", "bob", "robert"}[i%3],
			"lastname", fmt.Sprintf("berg%d", i%7), "phone", fmt.Sprintf("+1 415 555 %04d", i%120), "company", []string{"Acme Inc", "Acme", "Globex"}[i%3]))
	}
	tb.finish()
	comps, err := tb.comparisons(objectConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pairs, _, _ := tb.candidates(tb.rules(nil))
	md := train(tb, comps, nil, map[pattern]int{}, len(pairs), true)
	keep := []int32{3, 17, 153, 199}
	s := tb.subset(keep)
	for a := range keep {
		for b := range keep {
			i, j := int(keep[a]), int(keep[b])
			if w, sw := md.score(tb, tb.pattern(comps, i, j), i, j), md.score(s, s.pattern(comps, a, b), a, b); w != sw {
				t.Errorf("%s/%s: weight %v in the subset, %v in the table", tb.id(keep[a]), tb.id(keep[b]), sw, w)
			}
		}
		if s.id(int32(a)) != tb.id(keep[a]) {
			t.Errorf("record %d is %s, want %s", a, s.id(int32(a)), tb.id(keep[a]))
		}
	}
}
