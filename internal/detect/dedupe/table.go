package dedupe

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

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
	std  string
	kind string
	in   *interner
	// vals are the records' value ids up to the last record with a
	// value (a field no record has costs nothing); read them with val.
	vals  []uint32
	count []int32 // per value id
	role  []bool  // per value id, for emails: a role address (info@)
	n     int     // records with a value
	// weights are a text column's word weights: log2(1 + records /
	// records with the word), so that a word most values hold (center,
	// of, chicago) counts for little and a rare one for much.
	weights map[string]float32
	// raw holds a phone column's numbers, each with the region it is
	// read in, until finish normalizes them in parallel: rawVals[i] is
	// record i's in raw, like vals.
	raw     *interner
	rawVals []uint32
}

// set gives record i the normalized value v; records are set in order.
func (c *column) set(i int, v string) {
	id := c.intern(v)
	if id == 0 {
		return
	}
	c.vals = setVal(c.vals, i, id)
	c.count[id]++
	c.n++
}

// intern is v's value id, with room for its count.
func (c *column) intern(v string) uint32 {
	id := c.in.id(v)
	for int(id) >= len(c.count) {
		c.count = append(c.count, 0)
		if c.kind == kindEmail {
			c.role = append(c.role, isRole(c.in.str(uint32(len(c.count)-1))))
		}
	}
	return id
}

// phoneBatch is how many distinct phone numbers are normalized at once.
const phoneBatch = 1 << 16

// setVal sets vals[i] = id, growing vals with empty values up to i.
func setVal(vals []uint32, i int, id uint32) []uint32 {
	if i < len(vals) {
		vals[i] = id
		return vals
	}
	vals = append(vals, make([]uint32, i-len(vals))...)
	return append(vals, id)
}

// val is record i's value id, 0 when it has none.
func (c *column) val(i int) uint32 {
	if i < len(c.vals) {
		return c.vals[i]
	}
	return 0
}

func (c *column) str(i int) string { return c.in.str(c.val(i)) }

// table holds one object's records, in List order, column by column.
type table struct {
	object string
	// role is how the records are compared: contacts (people) or
	// companies (organisations).
	role string
	// standard maps standard field names to the object's (nil: the
	// standard names themselves, as HubSpot's objects have them).
	standard map[string]string
	// ids are the records' ids, by index.
	ids   strArena
	cols  []*column
	colOf map[string]int // by the field's name in the CRM
	// country is the column the phone region comes from (-1: none).
	country int
	// key is add's buffer for a phone's key.
	key []byte
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

func (t *table) len() int { return t.ids.len() }

// id is record i's id.
func (t *table) id(i int32) string { return t.ids.at(uint32(i)) }

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

// add appends one record as List gave it. Only what is compared is kept,
// copied into the table's arenas: nothing of r is referenced afterwards.
func (t *table) add(r crm.Record) {
	i := t.len()
	t.ids.add(r.ID)
	region := ""
	if t.country >= 0 {
		region = phoneRegion(r.Fields[t.cols[t.country].field])
	}
	for _, c := range t.cols {
		v := strings.TrimSpace(r.Fields[c.field])
		if v == "" {
			continue
		}
		if c.kind == kindPhone {
			// The number with its region, as one key: "GB\x00020 7946 0958".
			if c.raw == nil {
				c.raw = newInterner()
			}
			t.key = append(append(append(t.key[:0], region...), 0), v...)
			c.rawVals = setVal(c.rawVals, i, c.raw.id(unsafe.String(unsafe.SliceData(t.key), len(t.key))))
			continue
		}
		c.set(i, normalize(c.kind, v))
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
		if c.kind != kindPhone || c.raw == nil {
			continue
		}
		// Each distinct number and region is parsed once (a switchboard
		// many records share, once), a batch at a time on every core, and
		// interned in the order the numbers were first seen, which is the
		// order of the records: value ids are as if set record by record.
		c.raw.slots = nil
		norm := make([]uint32, c.raw.len())
		batch := make([]string, phoneBatch)
		workers := max(1, runtime.GOMAXPROCS(0))
		for lo := 1; lo < len(norm); lo += phoneBatch {
			hi := min(len(norm), lo+phoneBatch)
			var wg sync.WaitGroup
			chunk := (hi - lo + workers - 1) / workers
			for w := range workers {
				a, b := lo+w*chunk, min(hi, lo+(w+1)*chunk)
				if a >= b {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := a; k < b; k++ {
						region, raw, _ := strings.Cut(c.raw.str(uint32(k)), "\x00")
						batch[k-lo] = normPhone(raw, region)
					}
				}()
			}
			wg.Wait()
			for k := lo; k < hi; k++ {
				norm[k] = c.intern(batch[k-lo])
			}
		}
		for i, k := range c.rawVals {
			if v := norm[k]; v != 0 {
				c.vals = setVal(c.vals, i, v)
				c.count[v]++
				c.n++
			}
		}
		c.raw, c.rawVals = nil, nil
	}
	// What append left spare is a third of the table on average; every
	// later stage's memory comes on top of it.
	// Nor are values looked up by string any more: the hash tables go
	// (a quarter of the table at ten million records).
	t.ids.refs = trim(t.ids.refs)
	for _, c := range t.cols {
		c.vals, c.count, c.role, c.in.refs = trim(c.vals), trim(c.count), trim(c.role), trim(c.in.refs)
		c.in.slots = nil
	}
}

// trim is s in an array of its length, when append left much spare.
func trim[T any](s []T) []T {
	if cap(s)-len(s) <= len(s)/16 {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

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

// subset is a table of records keep (ascending) only, record k of it being
// record keep[k] of t, so that indexes keep their order. Values keep their
// counts over the whole table and text columns their word weights, so a
// pair of them scores as it did in t. Grouped records are a few percent of
// a CRM: what follows grouping needs only them, and the whole table can be
// let go.
func (t *table) subset(keep []int32) *table {
	s := &table{object: t.object, role: t.role, standard: t.standard, colOf: t.colOf, country: t.country}
	for _, i := range keep {
		s.ids.add(t.id(i))
	}
	for _, c := range t.cols {
		sc := &column{field: c.field, std: c.std, kind: c.kind, in: newInterner(), count: []int32{0}, role: []bool{false}, n: c.n, weights: c.weights}
		for k, i := range keep {
			v := c.val(int(i))
			if v == 0 {
				continue
			}
			id := sc.in.id(c.in.str(v))
			if int(id) == len(sc.count) {
				sc.count = append(sc.count, c.count[v])
				if c.kind == kindEmail {
					sc.role = append(sc.role, c.role[v])
				}
			}
			sc.vals = setVal(sc.vals, k, id)
		}
		s.cols = append(s.cols, sc)
	}
	return s
}
