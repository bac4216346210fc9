package gitrepo

import (
	"reflect"
	"testing"
)

func TestParseTrailers(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    []Trailer
	}{
		{
			name:    "repeated keys all survive in order",
			message: "Merge crmops/b1\n\nApproved-by: alice\nApproved-by: bob\nCrmops-Decision: review\n",
			want:    []Trailer{{"Approved-by", "alice"}, {"Approved-by", "bob"}, {"Crmops-Decision", "review"}},
		},
		{
			name:    "a value keeps its own colons",
			message: "Merge\n\nCrmops-Policy: policies/default.yaml@abc123: rule enrichment\nAt: 2026-11-24T09:12:00Z\n",
			want:    []Trailer{{"Crmops-Policy", "policies/default.yaml@abc123: rule enrichment"}, {"At", "2026-11-24T09:12:00Z"}},
		},
		{
			name:    "only the last paragraph holds trailers",
			message: "Subject\n\nBody: with a colon\n\nCrmops-Batch: b1\n",
			want:    []Trailer{{"Crmops-Batch", "b1"}},
		},
		{
			name:    "an indented line continues the previous value",
			message: "Subject\n\nReason: first half\n  second half\nCrmops-Batch: b1\n",
			want:    []Trailer{{"Reason", "first half second half"}, {"Crmops-Batch", "b1"}},
		},
		{
			name:    "trailing blank lines and CRLF are ignored",
			message: "Subject\r\n\r\nCrmops-Batch: b1\r\n\r\n\r\n",
			want:    []Trailer{{"Crmops-Batch", "b1"}},
		},
		{
			name:    "a message without trailers has none",
			message: "Add proposals/b1.yaml\n\nFill 42 empty job titles from Clay.\n",
			want:    nil,
		},
		{
			name:    "a prose paragraph with one colon line is not trailers",
			message: "Subject\n\nNote: this is prose\nand this line is not a trailer\n",
			want:    nil,
		},
		{
			name:    "the subject alone is never trailers",
			message: "Crmops-Batch: b1\n",
			want:    nil,
		},
		{
			name:    "a key with a space is not a trailer key",
			message: "Subject\n\nApproved by: alice\n",
			want:    nil,
		},
		{
			name:    "an empty message has none",
			message: "",
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseTrailers(tt.message)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTrailers(%q) = %q, want %q", tt.message, got, tt.want)
			}
		})
	}
}

func TestFormatTrailersRoundTrips(t *testing.T) {
	in := []Trailer{
		{"Approved-by", "alice"},
		{"Approved-by", "bob"},
		{"Crmops-Policy", "policies/default.yaml@abc: x"},
		{"Reason", "line one\n\nline two"},
	}
	msg := "Merge crmops/b1\n\n" + FormatTrailers(in)
	got := ParseTrailers(msg)
	want := append(in[:3:3], Trailer{"Reason", "line one line two"})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip of %q = %q, want %q", msg, got, want)
	}
}

func TestCommitInfoCarriesTrailers(t *testing.T) {
	f := newForge(t)
	h, err := f.repo.CommitTree(CommitOptions{
		Message:   "Merge crmops/b1\n\n" + FormatTrailers([]Trailer{{"Approved-by", "alice"}, {"approved-by", "bob"}}),
		Author:    who(1),
		Committer: Identity{Name: "bot", Email: "bot@example.com", When: who(2).When},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.repo.CommitInfo(h)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TrailerValues("Approved-By"); !reflect.DeepEqual(got, []string{"alice", "bob"}) {
		t.Errorf("Approved-By values = %q, want alice and bob", got)
	}
	if c.Author.Name != "crmops" || !c.Author.When.Equal(who(1).When) {
		t.Errorf("author = %+v", c.Author)
	}
	if c.Committer.Name != "bot" || !c.Committer.When.Equal(who(2).When) {
		t.Errorf("committer = %+v", c.Committer)
	}
	if len(c.Parents) != 0 || c.Tree != emptyTreeHash {
		t.Errorf("parents = %v, tree = %s; want a root commit of the empty tree", c.Parents, c.Tree)
	}
}
