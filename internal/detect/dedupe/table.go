package dedupe

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/crmops/crmops/internal/crm"
)

// fieldSpec is one field the detector compares, by its name in the CRM.
type fieldSpec struct {
	field string
	kind  string
}

// Roles an object plays: its records are compared as people or as
// organisations.
const (
	roleContacts  = "contacts"
	roleCompanies = "companies"
)

// specsFor are the default fields of role in an object's names: standard
// maps the standard names to the object's (nil: the standard names
// themselves), and a standard field it does not name is not compared.
func specsFor(role string, standard map[string]string) []fieldSpec {
	if standard == nil {
		return slices.Clone(defaultFields[role])
	}
	var out []fieldSpec
	for _, f := range defaultFields[role] {
		if name, ok := standard[f.field]; ok {
			out = append(out, fieldSpec{name, f.kind})
		}
	}
	return out
}

// defaultFields are the standard properties compared when the data has
// them (SPEC: "Duplicate detection: what it compares").
var defaultFields = map[string][]fieldSpec{
	"contacts": {
		{"email", kindEmail}, {"firstname", kindName}, {"lastname", kindName},
		{"phone", kindPhone}, {"mobilephone", kindPhone}, {"company", kindOrgName},
		{"address", kindAddress}, {"city", kindText}, {"state", kindText},
		{"zip", kindPostcode}, {"country", kindCountry}, {"date_of_birth", kindDate},
	},
	"companies": {
		{"name", kindOrgName}, {"domain", kindDomain}, {"phone", kindPhone},
		{"address", kindAddress}, {"city", kindText}, {"state", kindText},
		{"zip", kindPostcode}, {"country", kindCountry},
	},
}

// kindCountry compares countries by their region code where it is known,
// so "United States", "USA" and "US" agree.
const kindCountry = "country"

func normCountry(s string) string {
	if r := phoneRegion(s); r != "" {
		return r
	}
	return normText(s)
}

// column holds one field of every record, normalized and interned: each
// distinct value is stored once, and its count gives term frequencies.
type column struct {
	field string // the field's name in the CRM
	// std is the standard field it stands for (email, firstname...), ""
	// for none.
	std   string
	kind  string
	in    *interner
	vals  []uint32 // per record; 0 = empty
	count []int32  // per value id
	role  []bool   // per value id, for emails: a role address (info@)
	n     int      // records with a value
	// weights are a text column's word weights: log2(1 + records /
	// records with the word), so that a word most values hold (center,
	// of, chicago) counts for little and a rare one for much.
	weights map[string]float32
	// raw and region hold phones until they are normalized in parallel.
	raw    []string
	region []string
}

func (c *column) set(i int, v string) {
	id := c.in.id(v)
	for int(id) >= len(c.count) {
		c.count = append(c.count, 0)
		if c.kind == kindEmail {
			c.role = append(c.role, isRole(c.in.str(uint32(len(c.count)-1))))
		}
	}
	c.vals[i] = id
	if id != 0 {
		c.count[id]++
		c.n++
	}
}

func (c *column) str(i int) string { return c.in.str(c.vals[i]) }

// table holds one object's records, in List order, column by column.
type table struct {
	object string
	// role is how the records are compared: contacts (people) or
	// companies (organisations).
	role string
	// standard maps standard field names to the object's (nil: the
	// standard names themselves, as HubSpot's objects have them).
	standard map[string]string
	ids      []string
	cols     []*column
	colOf    map[string]int // by the field's name in the CRM
	// country is the column the phone region comes from (-1: none).
	country int
}

// newTable is a table of a contacts or companies object with the
// standard field names.
func newTable(object string, specs []fieldSpec) *table {
	return newTableAs(object, object, nil, specs)
}

// newTableAs is a table of object compared as role, whose standard fields
// have the names standard gives (nil: the standard names).
func newTableAs(object, role string, standard map[string]string, specs []fieldSpec) *table {
	t := &table{object: object, role: role, standard: standard, colOf: map[string]int{}, country: -1}
	std := map[string]string{}
	for s, f := range standard {
		std[f] = s
	}
	for _, s := range specs {
		t.colOf[s.field] = len(t.cols)
		c := &column{field: s.field, std: s.field, kind: s.kind, in: newInterner(), count: []int32{0}, role: []bool{false}}
		if standard != nil {
			c.std = std[s.field]
		}
		t.cols = append(t.cols, c)
	}
	if c := t.col("country"); c != nil {
		t.country = t.colOf[c.field]
	}
	return t
}

func (t *table) len() int { return len(t.ids) }

// name is the object's name of standard field std (std itself when the
// object does not map it).
func (t *table) name(std string) string {
	if f, ok := t.standard[std]; ok {
		return f
	}
	return std
}

// col is the column of standard field std, nil when there is none.
func (t *table) col(std string) *column {
	if t.standard != nil {
		if _, ok := t.standard[std]; !ok {
			return nil
		}
	}
	return t.field(t.name(std))
}

// field is the column of the CRM field named name, nil when there is none.
func (t *table) field(name string) *column {
	if i, ok := t.colOf[name]; ok {
		return t.cols[i]
	}
	return nil
}

// add appends one record as List gave it.
func (t *table) add(r crm.Record) {
	i := len(t.ids)
	t.ids = append(t.ids, r.ID)
	region := ""
	if t.country >= 0 {
		region = phoneRegion(r.Fields[t.cols[t.country].field])
	}
	for _, c := range t.cols {
		c.vals = append(c.vals, 0)
		v := strings.TrimSpace(r.Fields[c.field])
		if c.kind == kindPhone {
			c.raw = append(c.raw, v)
			c.region = append(c.region, region)
			continue
		}
		if v != "" {
			v = normalize(c.kind, v)
		}
		c.set(i, v)
	}
}

func normalize(kind, v string) string { return kinds[kind].norm(v) }

// finish normalizes the phones, on every core (libphonenumber is the one
// slow normalizer), and weighs the words of text columns.
func (t *table) finish() {
	for _, c := range t.cols {
		if c.kind == kindText || c.kind == kindOrgName {
			c.weighWords()
		}
	}
	for _, c := range t.cols {
		if c.kind != kindPhone {
			continue
		}
		out := make([]string, len(c.raw))
		workers := max(1, runtime.GOMAXPROCS(0))
		var wg sync.WaitGroup
		chunk := (len(c.raw) + workers - 1) / workers
		for w := range workers {
			lo, hi := w*chunk, min(len(c.raw), (w+1)*chunk)
			if lo >= hi {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Equal raw numbers on neighbouring records (a
				// switchboard) are parsed once.
				prevRaw, prevRegion, prev := "", "", ""
				for i := lo; i < hi; i++ {
					if c.raw[i] == "" {
						continue
					}
					if c.raw[i] == prevRaw && c.region[i] == prevRegion {
						out[i] = prev
						continue
					}
					out[i] = normPhone(c.raw[i], c.region[i])
					prevRaw, prevRegion, prev = c.raw[i], c.region[i], out[i]
				}
			}()
		}
		wg.Wait()
		for i, v := range out {
			c.set(i, v)
		}
		c.raw, c.region = nil, nil
	}
}

// interner stores each distinct string once and names it by number; 0 is
// the empty string.
type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() *interner { return &interner{ids: map[string]uint32{"": 0}, strs: []string{""}} }

func (in *interner) id(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := uint32(len(in.strs))
	in.ids[s] = id
	in.strs = append(in.strs, s)
	return id
}

func (in *interner) str(id uint32) string { return in.strs[id] }

// weighWords sets c.weights from the distinct values and their counts.
func (c *column) weighWords() {
	df := map[string]int{}
	var buf [16]string
	for id := 1; id < len(c.count); id++ {
		ws := words(c.in.str(uint32(id)), buf[:0])
		for k, w := range ws {
			if !slices.Contains(ws[:k], w) {
				df[w] += int(c.count[id])
			}
		}
	}
	c.weights = make(map[string]float32, len(df))
	for w, n := range df {
		c.weights[w] = float32(math.Log2(1 + float64(c.n)/float64(n)))
	}
}
