package sftest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The double understands the subset of SOQL a connector needs:
//
//	SELECT field, field, ... FROM Object
//	  [WHERE cond AND cond ...]
//	  [ORDER BY field [ASC|DESC], ...]
//	  [LIMIT n]
//
// where cond is `field op literal` (op one of = != <> < <= > >=) or
// `field [NOT] IN (literal, ...)`, and a literal is a 'quoted string', a
// number, true/false, null, or an unquoted date or dateTime
// (2024-01-31, 2024-01-31T12:00:00Z, 2024-01-31T12:00:00.000+02:00).
// Anything else (OR, parentheses, relationship fields, functions, GROUP BY,
// OFFSET, ...) is answered 400 MALFORMED_QUERY, the code Salesforce
// documents for an invalid query string, even where real SOQL would accept it.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
// https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tPunct
	tOp
)

type token struct {
	kind tokKind
	text string // identifier, operator, punctuation, or literal source text
	val  string // unescaped string value
	pos  int    // byte offset in the query
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
	litTime
)

type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool
	t    time.Time
	pos  int
}

type cond struct {
	field  string // canonical after resolve
	pos    int
	op     string // = != < <= > >= in notin
	values []literal
}

type orderItem struct {
	field string
	pos   int
	desc  bool
}

type soqlQuery struct {
	object    string
	objectPos int
	fields    []string
	fieldPos  []int
	where     []cond
	order     []orderItem
	limit     int // -1: none
}

// soqlError is a query rejected with a REST error code; pos locates the
// problem for the caret diagnostic Salesforce prints in the message.
type soqlError struct {
	code string
	msg  string
	pos  int
}

func (e *soqlError) Error() string { return e.code + ": " + e.msg }

// render formats the message as Salesforce does for query errors: the
// offending line, a caret under the problem, its row and column, then the
// reason.
func (e *soqlError) render(q string) string {
	pos := min(max(e.pos, 0), len(q))
	row, lineStart := 1, 0
	for i := 0; i < pos; i++ {
		if q[i] == '\n' {
			row++
			lineStart = i + 1
		}
	}
	lineEnd := strings.IndexByte(q[lineStart:], '\n')
	line := q[lineStart:]
	if lineEnd >= 0 {
		line = q[lineStart : lineStart+lineEnd]
	}
	col := pos - lineStart + 1
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), row, col, e.msg)
}

var (
	reDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	reDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$`)
)

func lex(q string) ([]token, *soqlError) {
	var toks []token
	i := 0
	for {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++
		}
		if i >= len(q) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		c := q[i]
		start := i
		switch {
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(q) {
				ch := q[i]
				if ch == '\\' && i+1 < len(q) {
					switch n := q[i+1]; n {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					default:
						b.WriteByte(n)
					}
					i += 2
					continue
				}
				if ch == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, &soqlError{"MALFORMED_QUERY", "line 1:" + strconv.Itoa(start) + " mismatched character '<EOF>' expecting '''", start}
			}
			toks = append(toks, token{kind: tString, text: q[start:i], val: b.String(), pos: start})
		case c >= '0' && c <= '9' || (c == '-' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9'):
			i++
			for i < len(q) && (isAlnum(q[i]) || strings.IndexByte(":.+-", q[i]) >= 0) {
				i++
			}
			text := q[start:i]
			switch {
			case reDate.MatchString(text):
				toks = append(toks, token{kind: tDate, text: text, pos: start})
			case reDateTime.MatchString(text):
				toks = append(toks, token{kind: tDateTime, text: text, pos: start})
			default:
				if _, err := strconv.ParseFloat(text, 64); err != nil {
					return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: '" + text + "'", start}
				}
				toks = append(toks, token{kind: tNumber, text: text, pos: start})
			}
		case isAlpha(c) || c == '_':
			i++
			for i < len(q) && (isAlnum(q[i]) || q[i] == '_' || q[i] == '.') {
				i++
			}
			toks = append(toks, token{kind: tIdent, text: q[start:i], pos: start})
		case c == ',' || c == '(' || c == ')':
			i++
			toks = append(toks, token{kind: tPunct, text: string(c), pos: start})
		case c == '=':
			i++
			toks = append(toks, token{kind: tOp, text: "=", pos: start})
		case c == '!' && i+1 < len(q) && q[i+1] == '=':
			i += 2
			toks = append(toks, token{kind: tOp, text: "!=", pos: start})
		case c == '<' || c == '>':
			i++
			op := string(c)
			if i < len(q) && (q[i] == '=' || (c == '<' && q[i] == '>')) {
				op += string(q[i])
				i++
			}
			if op == "<>" {
				op = "!="
			}
			toks = append(toks, token{kind: tOp, text: op, pos: start})
		default:
			return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: '" + string(c) + "'", start}
		}
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(word string) bool {
	t := p.peek()
	if t.kind == tIdent && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

func unexpected(t token) *soqlError {
	if t.kind == tEOF {
		return &soqlError{"MALFORMED_QUERY", "unexpected token: <EOF>", t.pos}
	}
	return &soqlError{"MALFORMED_QUERY", "unexpected token: '" + t.text + "'", t.pos}
}

func (p *parser) expectKeyword(word string) *soqlError {
	if !p.keyword(word) {
		return unexpected(p.peek())
	}
	return nil
}

var reserved = map[string]bool{
	"select": true, "from": true, "where": true, "and": true, "or": true, "not": true,
	"in": true, "order": true, "by": true, "limit": true, "offset": true, "group": true,
	"having": true, "asc": true, "desc": true, "nulls": true, "like": true, "includes": true,
	"excludes": true, "with": true, "using": true, "typeof": true, "for": true,
}

// fieldName accepts a plain field name: relationship paths (Account.Name),
// functions and reserved words are beyond the double.
func (p *parser) fieldName() (string, int, *soqlError) {
	t := p.peek()
	if t.kind != tIdent || reserved[strings.ToLower(t.text)] || strings.Contains(t.text, ".") {
		return "", 0, unexpected(t)
	}
	p.i++
	if n := p.peek(); n.kind == tPunct && n.text == "(" {
		return "", 0, unexpected(t)
	}
	return t.text, t.pos, nil
}

func parseSOQL(q string) (*soqlQuery, *soqlError) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	out := &soqlQuery{limit: -1}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	for {
		name, pos, err := p.fieldName()
		if err != nil {
			return nil, err
		}
		out.fields = append(out.fields, name)
		out.fieldPos = append(out.fieldPos, pos)
		if t := p.peek(); t.kind == tPunct && t.text == "," {
			p.next()
			continue
		}
		break
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	obj := p.next()
	if obj.kind != tIdent || reserved[strings.ToLower(obj.text)] || strings.Contains(obj.text, ".") {
		return nil, unexpected(obj)
	}
	out.object, out.objectPos = obj.text, obj.pos
	if p.keyword("WHERE") {
		for {
			c, err := p.condition()
			if err != nil {
				return nil, err
			}
			out.where = append(out.where, c)
			if !p.keyword("AND") {
				break
			}
		}
	}
	if p.keyword("ORDER") {
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			name, pos, err := p.fieldName()
			if err != nil {
				return nil, err
			}
			item := orderItem{field: name, pos: pos}
			if p.keyword("DESC") {
				item.desc = true
			} else {
				p.keyword("ASC")
			}
			out.order = append(out.order, item)
			if t := p.peek(); t.kind == tPunct && t.text == "," {
				p.next()
				continue
			}
			break
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tNumber || err != nil || n < 0 {
			return nil, unexpected(t)
		}
		out.limit = n
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, unexpected(t)
	}
	return out, nil
}

func (p *parser) condition() (cond, *soqlError) {
	name, pos, err := p.fieldName()
	if err != nil {
		return cond{}, err
	}
	c := cond{field: name, pos: pos}
	not := p.keyword("NOT")
	if p.keyword("IN") {
		c.op = "in"
		if not {
			c.op = "notin"
		}
		if t := p.next(); t.kind != tPunct || t.text != "(" {
			return cond{}, unexpected(t)
		}
		for {
			lit, err := p.literal()
			if err != nil {
				return cond{}, err
			}
			c.values = append(c.values, lit)
			t := p.next()
			if t.kind == tPunct && t.text == "," {
				continue
			}
			if t.kind == tPunct && t.text == ")" {
				break
			}
			return cond{}, unexpected(t)
		}
		return c, nil
	}
	if not {
		return cond{}, unexpected(p.peek())
	}
	t := p.next()
	if t.kind != tOp {
		return cond{}, unexpected(t)
	}
	c.op = t.text
	lit, err := p.literal()
	if err != nil {
		return cond{}, err
	}
	c.values = []literal{lit}
	return c, nil
}

func (p *parser) literal() (literal, *soqlError) {
	t := p.next()
	switch t.kind {
	case tString:
		return literal{kind: litString, s: t.val, pos: t.pos}, nil
	case tNumber:
		n, _ := strconv.ParseFloat(t.text, 64)
		return literal{kind: litNumber, n: n, s: t.text, pos: t.pos}, nil
	case tDate:
		tm, err := time.Parse("2006-01-02", t.text)
		if err != nil {
			return literal{}, unexpected(t)
		}
		return literal{kind: litTime, t: tm, s: t.text, pos: t.pos}, nil
	case tDateTime:
		tm, ok := parseDateTime(t.text)
		if !ok {
			return literal{}, unexpected(t)
		}
		return literal{kind: litTime, t: tm, s: t.text, pos: t.pos}, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true":
			return literal{kind: litBool, b: true, pos: t.pos}, nil
		case "false":
			return literal{kind: litBool, b: false, pos: t.pos}, nil
		case "null":
			return literal{kind: litNull, pos: t.pos}, nil
		}
	}
	return literal{}, unexpected(t)
}

// parseDateTime reads SOQL dateTime literals and the values Salesforce
// writes (2024-01-31T12:00:00.000+0000).
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{
		"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.000Z07:00",
		"2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.000Z0700",
		"2006-01-02T15:04:05.999999999Z07:00",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
