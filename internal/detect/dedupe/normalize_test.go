package dedupe

import (
	"math"
	"testing"
)

func TestNormEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Ann.Lee@ACME.io ":          "ann.lee@acme.io",
		"ann.lee+crm@acme.io":         "ann.lee+crm@acme.io", // plus addressing is Gmail's only here
		"Anna.Berg+news@gmail.com":    "annaberg@gmail.com",
		"a.n.n.a.berg@googlemail.com": "annaberg@gmail.com",
		"not an email":                "not an email",
		"":                            "",
	} {
		if got := normEmail(in); got != want {
			t.Errorf("normEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if !isRole("info@acme.io") || !isRole("sales@x.com") || isRole("ann@acme.io") || isRole("info") {
		t.Error("isRole is wrong")
	}
}

func TestPhoneKey(t *testing.T) {
	for in, want := range map[string]string{
		"+1 (415) 555-0100":      "4155550100",
		"415.555.0100":           "4155550100",
		"4155550100":             "4155550100",
		"1-415-555-0100":         "4155550100",
		"+14155550100":           "4155550100",
		"415-555-0100 ext. 21":   "4155550100",
		"415-555-0100 x21":       "4155550100",
		"+44 20 7946 0958":       "2079460958",
		"020 7946 0958":          "2079460958",
		"+44 (0)20 7946 0958":    "2079460958",
		"0049 30 1234567":        "301234567",
		"+49 30 1234567":         "301234567",
		"030/1234567":            "301234567",
		"+33 1 23 45 67 89":      "123456789",
		"01 23 45 67 89":         "123456789",
		"+46 8 123 456 78":       "812345678",
		"08-123 456 78":          "812345678",
		"+353 1 234 5678":        "12345678",
		"555-0100":               "5550100", // a local number: still a key
		"55-0100":                "",
		"":                       "",
		"call me":                "",
		"+1 (415) 555-0100 #204": "4155550100",
	} {
		if got := phoneKey(in); got != want {
			t.Errorf("phoneKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormName(t *testing.T) {
	for in, want := range map[string]string{
		"Ann":         "ann",
		"ann":         "ann",
		"O'Brien":     "obrien",
		"de Vries":    "devries",
		"José":        "jose",
		"Smith-Jones": "smithjones",
		"  ":          "",
		"Łukasz":      "lukasz",
	} {
		if got := normName(in); got != want {
			t.Errorf("normName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormDomainAndCompany(t *testing.T) {
	for in, want := range map[string]string{
		"acme.io":                     "acme.io",
		"https://www.Acme.io/contact": "acme.io",
		"http://acme.io/":             "acme.io",
		"WWW.ACME.IO":                 "acme.io",
		"acme.io:8080":                "acme.io",
		"ann@acme.io":                 "acme.io",
		"acme":                        "",
		"":                            "",
	} {
		if got := normDomain(in); got != want {
			t.Errorf("normDomain(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"Acme":                 "acme",
		"Acme Inc.":            "acme",
		"ACME, Inc.":           "acme",
		"Acme Corp. LLC":       "acme",
		"The Acme Company":     "acme",
		"Smith & Co.":          "smith",
		"Northwind Labs GmbH":  "northwind labs",
		"Inc.":                 "inc",
		"Bäckerei Müller GmbH": "backerei muller",
		"Summit Capital Group": "summit capital group",
	} {
		if got := normCompany(in); got != want {
			t.Errorf("normCompany(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJaroWinkler(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961},
		{"dwayne", "duane", 0.840},
		{"dixon", "dicksonx", 0.813},
		{"ann", "ann", 1},
		{"abc", "xyz", 0},
		{"", "ann", 0},
		{"josé", "jose", 0.883},
	} {
		got := jaroWinkler(tc.a, tc.b)
		if math.Abs(got-tc.want) > 0.001 {
			t.Errorf("jaroWinkler(%q, %q) = %.4f, want %.3f", tc.a, tc.b, got, tc.want)
		}
		if back := jaroWinkler(tc.b, tc.a); back != got {
			t.Errorf("jaroWinkler is not symmetric on %q, %q: %v vs %v", tc.a, tc.b, got, back)
		}
	}
}

func TestOneEdit(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"berg", "breg", true},    // swapped
		{"weber", "webber", true}, // inserted
		{"gupta", "guta", true},   // dropped
		{"elena", "ekena", true},  // replaced
		{"ann", "ann", false},
		{"daniel", "daniela", true},
		{"victor", "victoria", false},
		{"berg", "bgre", false},
	} {
		if got := oneEdit(tc.a, tc.b); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := oneEdit(tc.b, tc.a); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v", tc.b, tc.a, got)
		}
	}
}

func TestNicknames(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"bob", "robert", true},
		{"robert", "bob", true},
		{"bob", "rob", true},
		{"alex", "alexandra", true},
		{"alexander", "alexandra", false},
		{"liz", "beth", true},
		{"peggy", "margaret", true},
		{"daniel", "daniela", false},
		{"sandra", "alexandra", false},
		{"ann", "anna", false},
	} {
		if got := nicknameOf(tc.a, tc.b); got != tc.want {
			t.Errorf("nicknameOf(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
