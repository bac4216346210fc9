package textdist

import "testing"

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"equal strings are zero apart", "contacts", "contacts", 0},
		{"both empty are zero apart", "", "", 0},
		{"from empty is the other's length", "", "deal", 4},
		{"to empty is the first's length", "deal", "", 4},
		{"one substitution is one edit", "contact", "contbct", 1},
		{"one insertion is one edit", "contcts", "contacts", 1},
		{"one deletion is one edit", "helena", "elena", 1},
		{"case differences count", "Contacts", "contacts", 1},
		{"edits add up", "kitten", "sitting", 3},
		{"it is symmetric", "sitting", "kitten", 3},
		{"bytes are counted, not runes", "é", "e", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Levenshtein(tt.a, tt.b); got != tt.want {
				t.Errorf("Levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
