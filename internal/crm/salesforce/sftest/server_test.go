package sftest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// setup starts a double on a fake clock.
func setup(t *testing.T, opts Options) (*Server, *Clock) {
	t.Helper()
	clock := NewClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s, clock
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) errors(t *testing.T) []apiError {
	t.Helper()
	var out []apiError
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("error body is not a JSON array of errors: %s", r.body)
	}
	return out
}

func (r reply) object(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.body)
	}
	return out
}

// call makes a request as a client would, with the given token ("" for
// none) and JSON body (nil for none).
func call(t *testing.T, s *Server, token, method, path string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, data}
}

func get(t *testing.T, s *Server, path string, headers ...string) reply {
	t.Helper()
	return call(t, s, "test-token", http.MethodGet, path, nil, headers...)
}

func q(soql string) string { return "/services/data/v62.0/query?q=" + url.QueryEscape(soql) }

type queryPage struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

func page(t *testing.T, r reply) queryPage {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("query: %d %s", r.status, r.body)
	}
	var p queryPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(records []map[string]any) []string {
	var out []string
	for _, r := range records {
		out = append(out, r["Id"].(string))
	}
	return out
}

// ---- authentication ----

func TestUnauthorizedHasTheDocumentedBody(t *testing.T) {
	s, _ := setup(t, Options{})
	for _, token := range []string{"", "wrong"} {
		r := call(t, s, token, http.MethodGet, q("SELECT Id FROM Contact"), nil)
		if r.status != http.StatusUnauthorized || strings.TrimSpace(string(r.body)) != `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]` {
			t.Errorf("token %q: %d %s, want 401 INVALID_SESSION_ID", token, r.status, r.body)
		}
		if r.header.Get("Sforce-Limit-Info") != "" {
			t.Errorf("a 401 carries Sforce-Limit-Info %q", r.header.Get("Sforce-Limit-Info"))
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+q("SELECT Id FROM Contact"), nil)
	req.Header.Set("Authorization", "OAuth test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the OAuth scheme: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if st := s.Stats(); st.Unauthorized != 2 || st.APICalls != 1 || st.APIUsage != 1 {
		t.Errorf("stats %+v: 401s must not be counted as API calls", st)
	}
}

type tokenReply struct {
	AccessToken string `json:"access_token"`
	Signature   string `json:"signature"`
	Scope       string `json:"scope"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
	Error       string `json:"error"`
	ErrorDesc   string `json:"error_description"`
}

func postToken(t *testing.T, s *Server, form url.Values, basic ...string) (int, tokenReply) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out tokenReply
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestClientCredentialsFlow(t *testing.T) {
	s, _ := setup(t, Options{ClientID: "key", ClientSecret: "secret"})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {"key"}, "client_secret": {"secret"}}
	status, tok := postToken(t, s, good)
	if status != http.StatusOK || tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.InstanceURL != s.URL ||
		tok.IssuedAt != fmt.Sprint(t0.UnixMilli()) || !strings.HasPrefix(tok.ID, s.URL+"/id/00D") || tok.Scope == "" {
		t.Fatalf("token: %d %+v", status, tok)
	}
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write([]byte(tok.ID + tok.IssuedAt))
	if tok.Signature != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q is not HMAC-SHA256(id+issued_at)", tok.Signature)
	}
	if r := call(t, s, tok.AccessToken, http.MethodGet, "/services/data/v62.0/limits", nil); r.status != http.StatusOK {
		t.Errorf("the issued token is refused: %d", r.status)
	}
	if status, basic := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, "key", "secret"); status != http.StatusOK || basic.AccessToken == tok.AccessToken {
		t.Errorf("basic authentication: %d %+v", status, basic)
	}

	for _, tt := range []struct {
		form      url.Values
		code, msg string
	}{
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {"key"}, "client_secret": {"nope"}}, "invalid_client", "invalid client credentials"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {"other"}, "client_secret": {"secret"}}, "invalid_client_id", "client identifier invalid"},
		{url.Values{"grant_type": {"password"}, "client_id": {"key"}, "client_secret": {"secret"}}, "unsupported_grant_type", "grant type not supported"},
	} {
		if status, out := postToken(t, s, tt.form); status != http.StatusBadRequest || out.Error != tt.code || out.ErrorDesc != tt.msg || out.AccessToken != "" {
			t.Errorf("%v: %d %+v, want 400 %s", tt.form, status, out, tt.code)
		}
	}

	// An expired session is 401 until a new token is issued.
	s.ExpireSession()
	for _, old := range []string{tok.AccessToken, "test-token"} {
		if r := call(t, s, old, http.MethodGet, "/services/data/v62.0/limits", nil); r.status != http.StatusUnauthorized || r.errors(t)[0].ErrorCode != "INVALID_SESSION_ID" {
			t.Errorf("after ExpireSession, %q: %d %s", old, r.status, r.body)
		}
	}
	_, fresh := postToken(t, s, good)
	if r := call(t, s, fresh.AccessToken, http.MethodGet, "/services/data/v62.0/limits", nil); r.status != http.StatusOK {
		t.Errorf("a token issued after ExpireSession: %d", r.status)
	}
	s.FailNextToken(503)
	if status, _ := postToken(t, s, good); status != http.StatusServiceUnavailable {
		t.Errorf("FailNextToken: %d", status)
	}
	st := s.Stats()
	if st.Token != 7 || st.APIUsage != 2 {
		t.Errorf("token requests %d (want 7), api usage %d (want 2: neither token requests nor 401s are API calls)", st.Token, st.APIUsage)
	}
}

// ---- IDs ----

func TestIDsHaveKeyPrefixesAndChecksums(t *testing.T) {
	s, _ := setup(t, Options{})
	for obj, prefix := range map[string]string{"Contact": "003", "Lead": "00Q", "Account": "001", "Widget__c": "a00"} {
		id := s.Seed(obj, map[string]any{"Name": "x"})
		if len(id) != 18 || id[:3] != prefix {
			t.Errorf("%s id %q, want 18 characters starting %s", obj, id, prefix)
		}
		if n, ok := normalizeID(id[:15]); !ok || n != id {
			t.Errorf("the 15-character form of %s normalizes to %q", id, n)
		}
		if _, ok := normalizeID(id[:15] + "ZZZ"); ok {
			t.Errorf("a wrong checksum is accepted")
		}
	}
	// The documented example ID: 15 characters and its 18-character form.
	if n, ok := normalizeID("001D000000IRFma"); !ok || n != "001D000000IRFmaIAH" {
		t.Errorf("normalizeID(001D000000IRFma) = %q, want 001D000000IRFmaIAH", n)
	}
	a, b := s.Seed("Contact", nil), s.Seed("Contact", nil)
	if a >= b {
		t.Errorf("IDs do not sort in creation order: %s, %s", a, b)
	}
	if forced := s.Seed("Contact", map[string]any{"Id": "003Dn00000ABCDE", "Email": nil}); forced != "003Dn00000ABCDEIA5" {
		t.Errorf("Seed with an Id: %s", forced)
	}
	if f, _, _, _ := s.Get("Contact", "003Dn00000ABCDE"); len(f) != 0 {
		t.Errorf("a nil seed value is stored: %v", f)
	}
}

func TestDefinedObjectsAndFields(t *testing.T) {
	s, _ := setup(t, Options{Objects: map[string]string{"Invoice__c": "a0X"}, Fields: map[string][]string{"Invoice__c": {"Amount__c"}}})
	p := page(t, get(t, s, q("SELECT Id, amount__c FROM invoice__c")))
	if p.TotalSize != 0 || !p.Done || p.Records == nil {
		t.Errorf("an object without records: %+v", p)
	}
	id := s.Seed("Invoice__c", map[string]any{"Amount__c": 12.5})
	if id[:3] != "a0X" {
		t.Errorf("Invoice__c id %s", id)
	}
	s.DefineObject("Invoice__c", "", "Status__c")
	if _, res := collection(t, s, false, rec("Invoice__c", id, "status__c", "Paid", "Amount__c", 13)); !res[0].Success {
		t.Errorf("updating declared fields: %+v", res)
	}
	r := page(t, get(t, s, q("SELECT Status__c, Amount__c FROM Invoice__c"))).Records[0]
	if r["Status__c"] != "Paid" || r["Amount__c"] != float64(13) {
		t.Errorf("record %v", r)
	}
}

// ---- query ----

func TestQueryPagesWithNextRecordsUrl(t *testing.T) {
	s, _ := setup(t, Options{QueryBatchSize: 3})
	var want []string
	for i := range 7 {
		want = append(want, s.Seed("Contact", map[string]any{"Email": fmt.Sprintf("c%d@x.com", i), "LastName": "L"}))
	}
	p := page(t, get(t, s, q("SELECT Id, email FROM Contact ORDER BY Id")))
	var got []string
	pages, lastNext := 0, ""
	for {
		pages++
		if p.TotalSize != 7 {
			t.Fatalf("totalSize %d, want 7", p.TotalSize)
		}
		got = append(got, ids(p.Records)...)
		if p.Done {
			if p.NextRecordsURL != "" {
				t.Errorf("the last page has nextRecordsUrl %q", p.NextRecordsURL)
			}
			break
		}
		if !regexp.MustCompile(`^/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-\d+$`).MatchString(p.NextRecordsURL) {
			t.Fatalf("nextRecordsUrl %q", p.NextRecordsURL)
		}
		lastNext = p.NextRecordsURL
		p = page(t, get(t, s, p.NextRecordsURL))
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged %v in %d pages, want %v in 3", got, pages, want)
	}
	first := page(t, get(t, s, q("SELECT Id, email FROM Contact ORDER BY Id")))
	rec := first.Records[0]
	attrs := rec["attributes"].(map[string]any)
	if attrs["type"] != "Contact" || attrs["url"] != "/services/data/v62.0/sobjects/Contact/"+want[0] || rec["Email"] != "c0@x.com" || len(rec) != 3 {
		t.Errorf("record %v, want attributes, Id and Email (canonical spelling) only", rec)
	}
	// A page can be fetched again with its locator; a made-up one is refused.
	if again := page(t, get(t, s, lastNext)); !slices.Equal(ids(again.Records), want[6:]) || !again.Done {
		t.Errorf("refetching the last page: %+v", again)
	}
	for _, bad := range []string{"/services/data/v62.0/query/01gDn0000000000AAA-3", "/services/data/v62.0/query/nonsense"} {
		if r := get(t, s, bad); r.status != http.StatusBadRequest || r.errors(t)[0].ErrorCode != "INVALID_QUERY_LOCATOR" {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	if st := s.Stats(); st.Query != 2 || st.QueryMore != 5 {
		t.Errorf("stats: %d queries, %d queryMore", st.Query, st.QueryMore)
	}
}

func TestQueryBatchSizeDefaultAndHeader(t *testing.T) {
	s, _ := setup(t, Options{})
	for range 2500 {
		s.Seed("Lead", map[string]any{"LastName": "L"})
	}
	p := page(t, get(t, s, q("SELECT Id FROM Lead")))
	if len(p.Records) != 2000 || p.Done || p.TotalSize != 2500 {
		t.Errorf("default batch: %d records, done %v, totalSize %d; want 2000 of 2500", len(p.Records), p.Done, p.TotalSize)
	}
	p = page(t, get(t, s, q("SELECT Id FROM Lead"), "Sforce-Query-Options", "batchSize=500"))
	if len(p.Records) != 500 {
		t.Errorf("batchSize=500: %d records", len(p.Records))
	}
	p = page(t, get(t, s, q("SELECT Id FROM Lead"), "Sforce-Query-Options", "batchSize=10"))
	if len(p.Records) != 200 {
		t.Errorf("batchSize=10 (below the documented minimum of 200): %d records", len(p.Records))
	}
	p = page(t, get(t, s, q("SELECT Id FROM Lead LIMIT 10")))
	if len(p.Records) != 10 || !p.Done || p.TotalSize != 10 {
		t.Errorf("LIMIT 10: %d records, done %v, totalSize %d", len(p.Records), p.Done, p.TotalSize)
	}
}

func TestQueryFilters(t *testing.T) {
	s, clock := setup(t, Options{})
	a := s.Seed("Contact", map[string]any{"LastName": "Ada", "Email": "ada@x.com", "Score": 3})
	b := s.Seed("Contact", map[string]any{"LastName": "Bob", "Email": nil, "Score": 10})
	clock.Advance(time.Hour)
	c := s.Seed("Contact", map[string]any{"LastName": "cy", "Email": "CY@x.com", "Score": 7})
	for _, tt := range []struct {
		soql string
		want []string
	}{
		{fmt.Sprintf("SELECT Id FROM Contact WHERE Id IN ('%s', '%s') ORDER BY Id", c, a), []string{a, c}},
		{fmt.Sprintf("SELECT Id FROM Contact WHERE Id IN ('%s')", c[:15]), []string{c}},
		{fmt.Sprintf("SELECT Id FROM Contact WHERE Id > '%s' ORDER BY Id LIMIT 1", a), []string{b}},
		{fmt.Sprintf("select id from contact where id > '%s' order by id", b), []string{c}},
		{"SELECT Id FROM Contact WHERE Email = 'cy@X.COM'", []string{c}},
		{"SELECT Id FROM Contact WHERE Email = null", []string{b}},
		{"SELECT Id FROM Contact WHERE Email != 'ada@x.com' ORDER BY Id", []string{b, c}},
		{"SELECT Id FROM Contact WHERE Score > 5 AND Score <= 10 ORDER BY Score DESC", []string{b, c}},
		{"SELECT Id FROM Contact WHERE LastName NOT IN ('Ada', 'Bob')", []string{c}},
		{"SELECT Id FROM Contact WHERE SystemModstamp > 2026-01-05T10:30:00Z", []string{c}},
		{"SELECT Id FROM Contact WHERE LastModifiedDate <= 2026-01-05T10:00:00.000+0000 ORDER BY LastName DESC", []string{b, a}},
		{"SELECT Id FROM Contact WHERE IsDeleted = false ORDER BY Email", []string{b, a, c}},
	} {
		if got := ids(page(t, get(t, s, q(tt.soql))).Records); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.soql, got, tt.want)
		}
	}
	r := page(t, get(t, s, q(fmt.Sprintf("SELECT Id, LastModifiedDate, SystemModstamp, CreatedDate, IsDeleted, MasterRecordId FROM Contact WHERE Id = '%s'", c)))).Records[0]
	if r["LastModifiedDate"] != "2026-01-05T11:00:00.000+0000" || r["SystemModstamp"] != r["LastModifiedDate"] || r["IsDeleted"] != false || r["MasterRecordId"] != nil {
		t.Errorf("system fields: %v", r)
	}
}

func TestQueryErrors(t *testing.T) {
	s, _ := setup(t, Options{})
	s.Seed("Contact", map[string]any{"Email": "a@x.com"})
	for _, tt := range []struct {
		soql, code, msg string
	}{
		{"SELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b'", "MALFORMED_QUERY", "unexpected token: 'OR'"},
		{"SELECT Id Contact", "MALFORMED_QUERY", "unexpected token: 'Contact'"},
		{"SELECT COUNT() FROM Contact", "MALFORMED_QUERY", "unexpected token: 'COUNT'"},
		{"SELECT Id FROM Contact WHERE Email LIKE 'a%'", "MALFORMED_QUERY", "unexpected token: 'LIKE'"},
		{"SELECT Account.Name FROM Contact", "MALFORMED_QUERY", "unexpected token: 'Account.Name'"},
		{"SELECT Id FROM Contact WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"},
		{"SELECT Id FROM Contact LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"},
		{"SELECT Id, Id FROM Contact", "MALFORMED_QUERY", "duplicate field selected: Id"},
		{"SELECT Id FROM Unicorn", "INVALID_TYPE", "sObject type 'Unicorn' is not supported."},
		{"SELECT Id, Foo FROM Contact", "INVALID_FIELD", "No such column 'Foo' on entity 'Contact'."},
		{"SELECT Id FROM Contact WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"},
		{"SELECT Id FROM Contact WHERE SystemModstamp > '2026-01-01'", "INVALID_FIELD", "must be of type dateTime"},
	} {
		r := get(t, s, q(tt.soql))
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", tt.soql, r.status, r.body)
			continue
		}
		e := r.errors(t)
		if len(e) != 1 || e[0].ErrorCode != tt.code || !strings.Contains(e[0].Message, tt.msg) || !strings.Contains(e[0].Message, "ERROR at Row:1:Column:") {
			t.Errorf("%s: %v, want %s %q", tt.soql, e, tt.code, tt.msg)
		}
	}
	e := get(t, s, q("SELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b'")).errors(t)[0]
	if !strings.HasPrefix(e.Message, "\nSELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b'\n"+strings.Repeat(" ", 41)+"^\nERROR at Row:1:Column:42\n") {
		t.Errorf("the caret diagnostic: %q", e.Message)
	}
	if r := get(t, s, "/services/data/v62.0/query"); r.status != http.StatusBadRequest || r.errors(t)[0].ErrorCode != "MALFORMED_QUERY" {
		t.Errorf("no q: %d %s", r.status, r.body)
	}
}

// ---- recycle bin, queryAll ----

func TestQueryAllShowsTheRecycleBinFor15Days(t *testing.T) {
	s, clock := setup(t, Options{})
	master := s.Seed("Lead", map[string]any{"LastName": "M"})
	victim := s.Seed("Lead", map[string]any{"LastName": "V"})
	gone := s.Seed("Lead", map[string]any{"LastName": "G"})
	if res := soapMerge(t, s, "test-token", mergeRequest("Lead", master, nil, victim)); res.Body.Fault != nil || !res.Body.Merge[0].Success {
		t.Fatalf("merge: %+v", res.Body)
	}
	clock.Advance(time.Hour)
	s.Delete("Lead", gone)
	live := ids(page(t, get(t, s, q("SELECT Id FROM Lead"))).Records)
	if !slices.Equal(live, []string{master}) {
		t.Errorf("/query: %v, want only the master", live)
	}
	all := page(t, get(t, s, "/services/data/v62.0/queryAll?q="+url.QueryEscape("SELECT Id, IsDeleted, MasterRecordId FROM Lead WHERE IsDeleted = true ORDER BY Id")))
	if len(all.Records) != 2 || all.Records[0]["Id"] != victim || all.Records[0]["MasterRecordId"] != master || all.Records[0]["IsDeleted"] != true ||
		all.Records[1]["Id"] != gone || all.Records[1]["MasterRecordId"] != nil {
		t.Errorf("/queryAll: %v", all.Records)
	}
	if _, deleted, mr, ok := s.Get("Lead", victim); !ok || !deleted || mr != master {
		t.Errorf("Get(victim): deleted %v, master %q, ok %v", deleted, mr, ok)
	}
	clock.Advance(15*24*time.Hour - time.Hour)
	if got := ids(page(t, get(t, s, "/services/data/v62.0/queryAll?q="+url.QueryEscape("SELECT Id FROM Lead WHERE IsDeleted = true"))).Records); !slices.Equal(got, []string{gone}) {
		t.Errorf("after 15 days the merged record is purged, the one deleted an hour later is not: %v", got)
	}
	if _, _, _, ok := s.Get("Lead", victim); ok {
		t.Errorf("a purged record is still stored")
	}
}

func TestQueryAllPagesKeepIncludingDeleted(t *testing.T) {
	s, _ := setup(t, Options{QueryBatchSize: 2})
	for i := range 5 {
		id := s.Seed("Account", map[string]any{"Name": fmt.Sprint(i)})
		if i%2 == 0 {
			s.Delete("Account", id)
		}
	}
	p := page(t, get(t, s, "/services/data/v62.0/queryAll?q="+url.QueryEscape("SELECT Id, IsDeleted FROM Account")))
	n := len(p.Records)
	for !p.Done {
		if !strings.Contains(p.NextRecordsURL, "/query/") {
			t.Fatalf("queryAll's nextRecordsUrl %q should name /query", p.NextRecordsURL)
		}
		p = page(t, get(t, s, p.NextRecordsURL))
		n += len(p.Records)
	}
	if n != 5 || p.TotalSize != 5 {
		t.Errorf("queryAll returned %d of %d, want 5", n, p.TotalSize)
	}
}

// ---- Bulk API 2.0 ----

func TestBulkQueryJob(t *testing.T) {
	s, _ := setup(t, Options{BulkPollsToComplete: 3})
	var want [][]string
	for i := range 5 {
		id := s.Seed("Contact", map[string]any{"Email": fmt.Sprintf(`c"%d@x.com`, i), "Score": i})
		want = append(want, []string{id, fmt.Sprintf(`c"%d@x.com`, i)})
	}
	s.Seed("Contact", map[string]any{"Email": nil, "Score": 9})
	r := call(t, s, "test-token", http.MethodPost, "/services/data/v62.0/jobs/query",
		map[string]string{"operation": "query", "query": "SELECT Id, Email FROM Contact WHERE Score < 5"})
	job := r.object(t)
	jobID, _ := job["id"].(string)
	if r.status != http.StatusOK || job["state"] != "UploadComplete" || !strings.HasPrefix(jobID, "750") || job["object"] != "Contact" ||
		job["operation"] != "query" || job["contentType"] != "CSV" || job["columnDelimiter"] != "COMMA" || job["lineEnding"] != "LF" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if !bytes.Contains(r.body, []byte(`"apiVersion":62.0`)) {
		t.Errorf("apiVersion should be written as 62.0: %s", r.body)
	}
	results := "/services/data/v62.0/jobs/query/" + jobID + "/results"
	if r := get(t, s, results); r.status != http.StatusPreconditionFailed || r.errors(t)[0].ErrorCode != "JOB_NOT_COMPLETE" {
		t.Errorf("results before JobComplete: %d %s", r.status, r.body)
	}
	var states []string
	for range 4 {
		states = append(states, get(t, s, "/services/data/v62.0/jobs/query/"+jobID).object(t)["state"].(string))
	}
	if !slices.Equal(states, []string{"InProgress", "InProgress", "JobComplete", "JobComplete"}) {
		t.Errorf("states %v", states)
	}
	info := get(t, s, "/services/data/v62.0/jobs/query/"+jobID).object(t)
	if info["jobType"] != "V2Query" || info["numberRecordsProcessed"] != float64(5) {
		t.Errorf("job info %v", info)
	}

	var got [][]string
	locator := ""
	var sizes []string
	for {
		path := results + "?maxRecords=2"
		if locator != "" {
			path += "&locator=" + url.QueryEscape(locator)
		}
		r := get(t, s, path)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("results: %d %s", r.status, r.body)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil || !slices.Equal(rows[0], []string{"Id", "Email"}) {
			t.Fatalf("CSV %q: %v", r.body, err)
		}
		got = append(got, rows[1:]...)
		sizes = append(sizes, r.header.Get("Sforce-NumberOfRecords"))
		locator = r.header.Get("Sforce-Locator")
		if locator == "" {
			t.Fatal("no Sforce-Locator header")
		}
		if locator == "null" {
			break
		}
	}
	if !slices.EqualFunc(got, want, slices.Equal) || !slices.Equal(sizes, []string{"2", "2", "1"}) {
		t.Errorf("results %v in sets of %v, want %v in 2,2,1", got, sizes, want)
	}
	if r := get(t, s, results+"?locator=bogus!"); r.status != http.StatusBadRequest || r.errors(t)[0].ErrorCode != "INVALID_LOCATOR" {
		t.Errorf("a bad locator: %d %s", r.status, r.body)
	}
	if r := get(t, s, "/services/data/v62.0/jobs/query/750Dn0000000000AAA"); r.status != http.StatusNotFound ||
		strings.TrimSpace(string(r.body)) != `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]` {
		t.Errorf("an unknown job: %d %s", r.status, r.body)
	}
	if st := s.Stats(); st.BulkCreate != 1 || st.BulkStatus != 6 || st.BulkResults != 5 || st.Bulk() != 12 {
		t.Errorf("bulk stats %+v", st)
	}
}

func TestBulkQueryAllAndFailures(t *testing.T) {
	s, _ := setup(t, Options{BulkPollsToComplete: 1})
	live := s.Seed("Account", map[string]any{"Name": "live"})
	dead := s.Seed("Account", map[string]any{"Name": "dead"})
	s.Delete("Account", dead)
	run := func(op string) [][]string {
		job := call(t, s, "test-token", http.MethodPost, "/services/data/v62.0/jobs/query",
			map[string]string{"operation": op, "query": "SELECT Id, IsDeleted FROM Account", "lineEnding": "CRLF", "columnDelimiter": "PIPE"}).object(t)
		if st := get(t, s, "/services/data/v62.0/jobs/query/"+job["id"].(string)).object(t)["state"]; st != "JobComplete" {
			t.Fatalf("state %v", st)
		}
		r := get(t, s, "/services/data/v62.0/jobs/query/"+job["id"].(string)+"/results")
		if r.header.Get("Sforce-Locator") != "null" || !strings.Contains(string(r.body), "\r\n") {
			t.Errorf("one set, CRLF: %q %q", r.header.Get("Sforce-Locator"), r.body)
		}
		cr := csv.NewReader(bytes.NewReader(r.body))
		cr.Comma = '|'
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows[1:]
	}
	if rows := run("query"); len(rows) != 1 || rows[0][0] != live || rows[0][1] != "false" {
		t.Errorf("query: %v", rows)
	}
	if rows := run("queryAll"); len(rows) != 2 || rows[1][0] != dead || rows[1][1] != "true" {
		t.Errorf("queryAll: %v", rows)
	}
	s.FailNextBulkJobs(1, "boom")
	job := call(t, s, "test-token", http.MethodPost, "/services/data/v62.0/jobs/query",
		map[string]string{"operation": "query", "query": "SELECT Id FROM Account"}).object(t)
	info := get(t, s, "/services/data/v62.0/jobs/query/"+job["id"].(string)).object(t)
	if info["state"] != "Failed" || info["errorMessage"] != "boom" {
		t.Errorf("a failed job: %v", info)
	}
	for _, body := range []map[string]string{
		{"operation": "query", "query": "SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'"},
		{"operation": "insert", "query": "SELECT Id FROM Account"},
	} {
		if r := call(t, s, "test-token", http.MethodPost, "/services/data/v62.0/jobs/query", body); r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.status, r.body)
		}
	}
}

// ---- sObject Rows ----

func TestGetRecord(t *testing.T) {
	s, _ := setup(t, Options{})
	id := s.Seed("Contact", map[string]any{"Email": "a@x.com", "LastName": "A"})
	r := get(t, s, "/services/data/v62.0/sobjects/Contact/"+id+"?fields=email,LastName")
	rec := r.object(t)
	if r.status != http.StatusOK || rec["Email"] != "a@x.com" || rec["LastName"] != "A" || len(rec) != 3 ||
		r.header.Get("Last-Modified") != "Mon, 05 Jan 2026 10:00:00 GMT" {
		t.Errorf("GET: %d %v %v", r.status, rec, r.header)
	}
	full := get(t, s, "/services/data/v62.0/sobjects/Contact/"+id[:15]).object(t)
	if full["Id"] != id || full["IsDeleted"] != false || full["LastModifiedDate"] != "2026-01-05T10:00:00.000+0000" {
		t.Errorf("all fields: %v", full)
	}
	for _, tt := range []struct {
		path, code string
	}{
		{"/services/data/v62.0/sobjects/Contact/003Dn0000000000AAA", "NOT_FOUND"},
		{"/services/data/v62.0/sobjects/Lead/" + id, "NOT_FOUND"},
		{"/services/data/v62.0/sobjects/Unicorn/" + id, "NOT_FOUND"},
	} {
		if r := get(t, s, tt.path); r.status != http.StatusNotFound ||
			strings.TrimSpace(string(r.body)) != `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]` {
			t.Errorf("%s: %d %s", tt.path, r.status, r.body)
		}
	}
	// Conditional GETs.
	path := "/services/data/v62.0/sobjects/Contact/" + id
	if r := get(t, s, path, "If-Modified-Since", t0.Format(http.TimeFormat)); r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-Modified-Since the last modification: %d %s", r.status, r.body)
	}
	if r := get(t, s, path, "If-Modified-Since", t0.Add(-time.Second).Format(http.TimeFormat)); r.status != http.StatusOK {
		t.Errorf("If-Modified-Since before it: %d", r.status)
	}
	if r := get(t, s, path, "If-Unmodified-Since", t0.Add(-time.Second).Format(http.TimeFormat)); r.status != http.StatusPreconditionFailed {
		t.Errorf("If-Unmodified-Since before the last modification: %d", r.status)
	}
	s.Delete("Contact", id)
	if r := get(t, s, "/services/data/v62.0/sobjects/Contact/"+id); r.status != http.StatusNotFound || r.errors(t)[0].ErrorCode != "ENTITY_IS_DELETED" {
		t.Errorf("a deleted record: %d %s", r.status, r.body)
	}
}

func TestPatchRecordAndIfUnmodifiedSince(t *testing.T) {
	s, clock := setup(t, Options{})
	id := s.Seed("Contact", map[string]any{"Email": "a@x.com", "Title": "old"})
	path := "/services/data/v62.0/sobjects/Contact/" + id
	clock.Advance(90 * time.Second)
	if r := call(t, s, "test-token", http.MethodPatch, path, map[string]any{"Email": "b@x.com", "title": nil}); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	fields, _, _, _ := s.Get("Contact", id)
	rec, _ := s.Record("Contact", id)
	if fields["Email"] != "b@x.com" || fields["Title"] != nil || !rec.LastModifiedDate.Equal(t0.Add(90*time.Second)) {
		t.Errorf("after PATCH: %v, modified %v", fields, rec.LastModifiedDate)
	}
	// Modified at 10:01:30: a precondition of 10:01:00 fails, 10:01:30 holds.
	before := t0.Add(time.Minute).Format(http.TimeFormat)
	r := call(t, s, "test-token", http.MethodPatch, path, map[string]any{"Email": "c@x.com"}, "If-Unmodified-Since", before)
	if r.status != http.StatusPreconditionFailed || r.errors(t)[0].ErrorCode == "" {
		t.Errorf("stale If-Unmodified-Since: %d %s", r.status, r.body)
	}
	if f, _, _, _ := s.Get("Contact", id); f["Email"] != "b@x.com" {
		t.Errorf("a 412 changed the record: %v", f)
	}
	if r := call(t, s, "test-token", http.MethodPatch, path, map[string]any{"Email": "c@x.com"}, "If-Unmodified-Since", t0.Add(90*time.Second).Format(http.TimeFormat)); r.status != http.StatusNoContent {
		t.Errorf("If-Unmodified-Since equal to LastModifiedDate: %d %s", r.status, r.body)
	}
	if r := call(t, s, "test-token", http.MethodPatch, path, map[string]any{"Email": "d@x.com"}, "If-Unmodified-Since", "yesterday"); r.status != http.StatusBadRequest {
		t.Errorf("an invalid If-Unmodified-Since: %d %s", r.status, r.body)
	}
	s.RejectValue("Contact", "Email", "bad@x.com", "Email is blocked")
	for _, tt := range []struct {
		body   map[string]any
		code   string
		fields []string
	}{
		{map[string]any{"Nope__c": 1}, "INVALID_FIELD", nil},
		{map[string]any{"LastModifiedDate": "2020-01-01T00:00:00.000+0000"}, "INVALID_FIELD_FOR_INSERT_UPDATE", []string{"LastModifiedDate"}},
		{map[string]any{"Email": "bad@x.com"}, "FIELD_CUSTOM_VALIDATION_EXCEPTION", []string{"Email"}},
	} {
		r := call(t, s, "test-token", http.MethodPatch, path, tt.body)
		if e := r.errors(t); r.status != http.StatusBadRequest || e[0].ErrorCode != tt.code || !slices.Equal(e[0].Fields, tt.fields) {
			t.Errorf("%v: %d %s", tt.body, r.status, r.body)
		}
	}
	if r := call(t, s, "test-token", http.MethodPatch, path, "{not json"); r.status != http.StatusBadRequest || r.errors(t)[0].ErrorCode != "JSON_PARSER_ERROR" {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
	if st := s.Stats(); st.SinglePatch != 8 || st.RecordsWritten != 2 {
		t.Errorf("stats: %d PATCHes, %d records written", st.SinglePatch, st.RecordsWritten)
	}
}

// ---- sObject Collections ----

type result struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

func collection(t *testing.T, s *Server, allOrNone bool, records ...map[string]any) (int, []result) {
	t.Helper()
	r := call(t, s, "test-token", http.MethodPatch, "/services/data/v62.0/composite/sobjects", map[string]any{"allOrNone": allOrNone, "records": records})
	var out []result
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("collections body %s", r.body)
		}
	}
	return r.status, out
}

func rec(typ, id string, fields ...any) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": typ}, "id": id}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	return m
}

func TestCollectionsUpdate(t *testing.T) {
	s, _ := setup(t, Options{})
	c1 := s.Seed("Contact", map[string]any{"Title": "a"})
	c2 := s.Seed("Contact", map[string]any{"Title": "b"})
	c3 := s.Seed("Contact", map[string]any{"Title": "c"})
	acct := s.Seed("Account", map[string]any{"Name": "Acme", "NumberOfEmployees": 5})
	dead := s.Seed("Contact", map[string]any{"Title": "d"})
	locked := s.Seed("Contact", map[string]any{"Title": "l"})
	s.Delete("Contact", dead)
	s.RejectValue("Contact", "Title", "CEO", "Title CEO is reserved")
	s.FailRecord(locked, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")

	status, res := collection(t, s, false,
		rec("Contact", c1, "Title", "Lead Engineer"),
		rec("Account", acct, "NumberOfEmployees", 27000),
		rec("Contact", acct, "Title", "x"),
		rec("Contact", dead, "Title", "x"),
		rec("Contact", c2, "Nope__c", "x"),
		rec("Contact", c3, "Title", "CEO"),
		rec("Contact", locked, "Title", "x"),
		map[string]any{"attributes": map[string]any{"type": "Contact"}, "Title": "no id"},
		rec("Contact", c1, "Title", "again"),
	)
	if status != http.StatusOK || len(res) != 9 {
		t.Fatalf("collections: %d %v", status, res)
	}
	want := []struct {
		id   string
		code string
	}{
		{c1, ""}, {acct, ""}, {"", "MALFORMED_ID"}, {dead, "ENTITY_IS_DELETED"}, {c2, "INVALID_FIELD"},
		{c3, "FIELD_CUSTOM_VALIDATION_EXCEPTION"}, {locked, "UNABLE_TO_LOCK_ROW"}, {"", "MISSING_ARGUMENT"}, {c1, "DUPLICATE_VALUE"},
	}
	for i, w := range want {
		r := res[i]
		switch {
		case w.code == "" && (!r.Success || r.ID != w.id || r.Errors == nil || len(r.Errors) != 0):
			t.Errorf("result %d: %+v, want success for %s", i, r, w.id)
		case w.code != "" && (r.Success || r.ID != w.id || len(r.Errors) != 1 || r.Errors[0].StatusCode != w.code || r.Errors[0].Fields == nil):
			t.Errorf("result %d: %+v, want %s for %q", i, r, w.code, w.id)
		}
	}
	if res[2].Errors[0].Message != "Contact ID: id value of incorrect type: "+acct || !slices.Equal(res[2].Errors[0].Fields, []string{"Id"}) {
		t.Errorf("the documented MALFORMED_ID error: %+v", res[2].Errors[0])
	}
	if f, _, _, _ := s.Get("Contact", c1); f["Title"] != "Lead Engineer" {
		t.Errorf("c1 not updated: %v", f)
	}
	if f, _, _, _ := s.Get("Account", acct); f["NumberOfEmployees"] != float64(27000) {
		t.Errorf("account not updated: %v", f)
	}
	if f, _, _, _ := s.Get("Contact", c2); f["Title"] != "b" {
		t.Errorf("a failed record was written: %v", f)
	}
	if st := s.Stats(); st.Collections != 1 || st.RecordsWritten != 2 {
		t.Errorf("stats: %d collections, %d records written", st.Collections, st.RecordsWritten)
	}
}

func TestCollectionsAllOrNoneRollsBack(t *testing.T) {
	s, _ := setup(t, Options{})
	good := s.Seed("Contact", map[string]any{"Title": "a"})
	other := s.Seed("Contact", map[string]any{"Title": "b"})
	_, res := collection(t, s, true,
		rec("Contact", good, "Title", "changed"),
		rec("Contact", "001Dn000000000Z", "Title", "x"),
		rec("Contact", other, "Title", "changed"),
	)
	if len(res) != 3 || res[0].Success || res[0].ID != good || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
		res[0].Errors[0].Message != "Record rolled back because not all records were valid and the request was using AllOrNone header" ||
		res[1].Errors[0].StatusCode != "MALFORMED_ID" || res[1].ID != "" || res[2].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
		t.Fatalf("allOrNone results: %+v", res)
	}
	for _, id := range []string{good, other} {
		if f, _, _, _ := s.Get("Contact", id); f["Title"] == "changed" {
			t.Errorf("%s was written despite the rollback", id)
		}
	}
	if len(s.Writes()) != 0 {
		t.Errorf("writes after a rollback: %v", s.Writes())
	}
	_, res = collection(t, s, true, rec("Contact", good, "Title", "ok"), rec("Contact", other, "Title", "ok"))
	if !res[0].Success || !res[1].Success || len(s.Writes()) != 2 {
		t.Errorf("allOrNone without failures: %+v", res)
	}
}

func TestCollectionsRequestLevelErrors(t *testing.T) {
	s, _ := setup(t, Options{})
	id := s.Seed("Contact", map[string]any{"Title": "a"})
	many := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = rec("Contact", id, "Title", "t")
		}
		return out
	}
	r := call(t, s, "test-token", http.MethodPatch, "/services/data/v62.0/composite/sobjects", map[string]any{"records": many(201)})
	if e := r.errors(t); r.status != http.StatusBadRequest || e[0].ErrorCode != "EXCEEDED_ID_LIMIT" {
		t.Errorf("201 records: %d %s", r.status, r.body)
	}
	if status, res := collection(t, s, false, many(200)...); status != http.StatusOK || len(res) != 200 || !res[0].Success || res[1].Errors[0].StatusCode != "DUPLICATE_VALUE" {
		t.Errorf("200 records: %d, %d results", status, len(res))
	}
	for _, body := range []any{
		map[string]any{"records": []any{map[string]any{"id": id, "Title": "x"}}},
		map[string]any{"records": []any{rec("Unicorn", id)}},
	} {
		if r := call(t, s, "test-token", http.MethodPatch, "/services/data/v62.0/composite/sobjects", body); r.status != http.StatusBadRequest || r.errors(t)[0].ErrorCode != "INVALID_TYPE" {
			t.Errorf("%v: %d %s", body, r.status, r.body)
		}
	}
	if r := call(t, s, "test-token", http.MethodPost, "/services/data/v62.0/composite/sobjects", map[string]any{}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d %s", r.status, r.body)
	}

	strict, _ := setup(t, Options{InvalidFieldFailsRequest: true})
	sid := strict.Seed("Contact", map[string]any{"Title": "a"})
	if r := call(t, strict, "test-token", http.MethodPatch, "/services/data/v62.0/composite/sobjects",
		map[string]any{"records": []any{rec("Contact", sid, "Nope__c", 1)}}); r.status != http.StatusBadRequest || r.errors(t)[0].ErrorCode != "INVALID_FIELD" {
		t.Errorf("InvalidFieldFailsRequest: %d %s", r.status, r.body)
	}
}

// ---- SOAP ----

type soapResult struct {
	Header struct {
		LimitInfo struct {
			Current int    `xml:"current"`
			Limit   int    `xml:"limit"`
			Type    string `xml:"type"`
		} `xml:"LimitInfoHeader>limitInfo"`
	} `xml:"Header"`
	Body struct {
		Merge []struct {
			ID        string      `xml:"id"`
			Success   bool        `xml:"success"`
			Merged    []string    `xml:"mergedRecordIds"`
			Related   []string    `xml:"updatedRelatedIds"`
			Errors    []soapError `xml:"errors"`
			HasErrors bool
		} `xml:"mergeResponse>result"`
		Undelete []struct {
			ID      string      `xml:"id"`
			Success bool        `xml:"success"`
			Errors  []soapError `xml:"errors"`
		} `xml:"undeleteResponse>result"`
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail struct {
				Faults []struct {
					XMLName       xml.Name
					ExceptionCode string `xml:"exceptionCode"`
					Message       string `xml:"exceptionMessage"`
				} `xml:",any"`
			} `xml:"detail"`
		} `xml:"Fault"`
	} `xml:"Body"`
	status int
}

type soapError struct {
	StatusCode string   `xml:"statusCode"`
	Message    string   `xml:"message"`
	Fields     []string `xml:"fields"`
}

func envelope(session, header, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com" xmlns:urn1="urn:sobject.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soapenv:Header><urn:SessionHeader><urn:sessionId>` + session + `</urn:sessionId></urn:SessionHeader>` + header + `</soapenv:Header>
  <soapenv:Body>` + body + `</soapenv:Body>
</soapenv:Envelope>`
}

func mergeRequest(typ, master string, fields map[string]string, victims ...string) string {
	var b strings.Builder
	b.WriteString(`<urn:request><urn:masterRecord>`)
	if typ != "" {
		fmt.Fprintf(&b, `<urn1:type>%s</urn1:type>`, typ)
	}
	fmt.Fprintf(&b, `<urn1:Id>%s</urn1:Id>`, master)
	for k, v := range fields {
		fmt.Fprintf(&b, `<%s>%s</%s>`, k, v, k)
	}
	b.WriteString(`</urn:masterRecord>`)
	for _, v := range victims {
		fmt.Fprintf(&b, `<urn:recordToMergeIds>%s</urn:recordToMergeIds>`, v)
	}
	b.WriteString(`</urn:request>`)
	return b.String()
}

func postSOAP(t *testing.T, s *Server, envelope string) soapResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/services/Soap/u/62.0", strings.NewReader(envelope))
	req.Header.Set("Content-Type", "text/xml; charset=UTF-8")
	req.Header.Set("SOAPAction", "merge")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out soapResult
	if err := xml.Unmarshal(data, &out); err != nil {
		t.Fatalf("SOAP answer is not XML: %v\n%s", err, data)
	}
	out.status = resp.StatusCode
	if (out.Body.Fault != nil) != (resp.StatusCode >= 500) {
		t.Errorf("a fault must come with HTTP 500 (or an injected 5xx): %d %s", resp.StatusCode, data)
	}
	return out
}

func soapMerge(t *testing.T, s *Server, session string, requests ...string) soapResult {
	t.Helper()
	return postSOAP(t, s, envelope(session, "", "<urn:merge>"+strings.Join(requests, "")+"</urn:merge>"))
}

func soapUndelete(t *testing.T, s *Server, allOrNone bool, ids ...string) soapResult {
	t.Helper()
	header := ""
	if allOrNone {
		header = `<urn:AllOrNoneHeader><urn:allOrNone>true</urn:allOrNone></urn:AllOrNoneHeader>`
	}
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "<urn:ids>%s</urn:ids>", id)
	}
	return postSOAP(t, s, envelope("test-token", header, "<urn:undelete>"+b.String()+"</urn:undelete>"))
}

func TestSOAPMerge(t *testing.T) {
	s, clock := setup(t, Options{})
	master := s.Seed("Account", map[string]any{"Name": "Acme", "Phone": "1"})
	v1 := s.Seed("Account", map[string]any{"Name": "Acme Inc", "Phone": "2"})
	v2 := s.Seed("Account", map[string]any{"Name": "ACME"})
	contact := s.Seed("Contact", map[string]any{"LastName": "C", "AccountId": v1})
	other := s.Seed("Contact", map[string]any{"LastName": "D", "AccountId": master})
	clock.Advance(time.Minute)

	res := soapMerge(t, s, "test-token", mergeRequest("Account", master, map[string]string{"Phone": "2"}, v1, v2[:15]))
	if res.status != http.StatusOK || len(res.Body.Merge) != 1 {
		t.Fatalf("merge: %d %+v", res.status, res.Body)
	}
	m := res.Body.Merge[0]
	if !m.Success || m.ID != master || !slices.Equal(m.Merged, []string{v1, v2}) || !slices.Equal(m.Related, []string{contact}) || len(m.Errors) != 0 {
		t.Errorf("MergeResult %+v", m)
	}
	if res.Header.LimitInfo.Type != "API REQUESTS" || res.Header.LimitInfo.Current != 1 || res.Header.LimitInfo.Limit != 100000 {
		t.Errorf("LimitInfoHeader %+v", res.Header.LimitInfo)
	}
	if f, deleted, _, _ := s.Get("Account", master); deleted || f["Phone"] != "2" || f["Name"] != "Acme" {
		t.Errorf("master after merge: %v deleted %v", f, deleted)
	}
	for _, v := range []string{v1, v2} {
		r, _ := s.Record("Account", v)
		if !r.IsDeleted || r.MasterRecordID != master || !r.LastModifiedDate.Equal(t0.Add(time.Minute)) {
			t.Errorf("victim %s: %+v", v, r)
		}
	}
	if f, _, _, _ := s.Get("Contact", contact); f["AccountId"] != master {
		t.Errorf("the victim's contact was not reparented: %v", f)
	}
	if r, _ := s.Record("Contact", other); !r.LastModifiedDate.Equal(t0) {
		t.Errorf("an unrelated record was touched")
	}

	// Per-request errors; each request is its own transaction.
	a := s.Seed("Lead", map[string]any{"LastName": "a"})
	b := s.Seed("Lead", map[string]any{"LastName": "b"})
	c := s.Seed("Lead", map[string]any{"LastName": "c"})
	d := s.Seed("Lead", map[string]any{"LastName": "d"})
	res = soapMerge(t, s, "test-token",
		mergeRequest("Lead", a, nil, b, c, d),
		mergeRequest("Lead", a, nil, contact),
		mergeRequest("Account", master, nil, v1),
		mergeRequest("Lead", a, nil, a),
		mergeRequest("Lead", a, map[string]string{"Nope__c": "x"}, b),
		mergeRequest("Lead", c, nil, d),
	)
	codes := []string{"LIMIT_EXCEEDED", "INVALID_ID_FIELD", "ENTITY_IS_DELETED", "INVALID_MERGE_RECORD", "INVALID_FIELD", ""}
	if len(res.Body.Merge) != len(codes) {
		t.Fatalf("results: %+v", res.Body)
	}
	for i, code := range codes {
		r := res.Body.Merge[i]
		if code == "" {
			if !r.Success || r.ID != c || !slices.Equal(r.Merged, []string{d}) {
				t.Errorf("request %d: %+v, want success", i, r)
			}
			continue
		}
		if r.Success || len(r.Errors) != 1 || r.Errors[0].StatusCode != code {
			t.Errorf("request %d: %+v, want %s", i, r, code)
		}
	}
	if _, deleted, _, _ := s.Get("Lead", b); deleted {
		t.Errorf("a failed request merged records")
	}
	if st := s.Stats(); st.SOAPMerge != 2 || st.RecordsWritten != 4+2 {
		t.Errorf("stats: %d merges, %d records written", st.SOAPMerge, st.RecordsWritten)
	}
}

func TestSOAPMergeFaults(t *testing.T) {
	s, _ := setup(t, Options{})
	o1 := s.Seed("Opportunity", map[string]any{"Name": "a"})
	o2 := s.Seed("Opportunity", map[string]any{"Name": "b"})
	l1 := s.Seed("Lead", map[string]any{"LastName": "a"})
	l2 := s.Seed("Lead", map[string]any{"LastName": "b"})
	many := make([]string, 201)
	for i := range many {
		many[i] = mergeRequest("Lead", l1, nil, l2)
	}
	for _, tt := range []struct {
		name, session, request, code, faultType string
	}{
		{"bad session", "nope", mergeRequest("Lead", l1, nil, l2), "INVALID_SESSION_ID", "UnexpectedErrorFault"},
		{"unsupported type", "test-token", mergeRequest("Opportunity", o1, nil, o2), "INVALID_TYPE_FOR_OPERATION", "UnexpectedErrorFault"},
		{"no type", "test-token", mergeRequest("", l1, nil, l2), "INVALID_TYPE", "InvalidSObjectFault"},
		{"unknown type", "test-token", mergeRequest("Unicorn", l1, nil, l2), "INVALID_TYPE", "InvalidSObjectFault"},
		{"malformed id", "test-token", mergeRequest("Lead", l1, nil, "00Qxyz"), "MALFORMED_ID", "InvalidIdFault"},
		{"too many requests", "test-token", strings.Join(many, ""), "EXCEEDED_ID_LIMIT", "UnexpectedErrorFault"},
	} {
		res := soapMerge(t, s, tt.session, tt.request)
		f := res.Body.Fault
		if f == nil || f.Code != "sf:"+tt.code || !strings.HasPrefix(f.String, tt.code+": ") || len(f.Detail.Faults) != 1 ||
			f.Detail.Faults[0].XMLName.Local != tt.faultType || f.Detail.Faults[0].ExceptionCode != tt.code {
			t.Errorf("%s: %d %+v, want fault %s", tt.name, res.status, f, tt.code)
		}
	}
	if f := soapMerge(t, s, "nope", "").Body.Fault; f.String != "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session" {
		t.Errorf("session fault string %q", f.String)
	}
	if res := postSOAP(t, s, "not xml"); res.Body.Fault == nil || res.Body.Fault.Code != "soapenv:Client" {
		t.Errorf("a broken envelope: %+v", res.Body.Fault)
	}
	if _, deleted, _, _ := s.Get("Lead", l2); deleted {
		t.Errorf("a faulted call merged records")
	}
}

func TestSOAPUndelete(t *testing.T) {
	s, clock := setup(t, Options{})
	master := s.Seed("Contact", map[string]any{"LastName": "M"})
	victim := s.Seed("Contact", map[string]any{"LastName": "V"})
	live := s.Seed("Contact", map[string]any{"LastName": "L"})
	soapMerge(t, s, "test-token", mergeRequest("Contact", master, nil, victim))

	// REST cannot bring it back: a collection update of a merged record fails.
	if _, res := collection(t, s, false, rec("Contact", victim, "IsDeleted", false)); res[0].Success || res[0].Errors[0].StatusCode != "ENTITY_IS_DELETED" {
		t.Errorf("REST update of a merged record: %+v", res)
	}
	// AllOrNone: a record not in the recycle bin rolls everything back.
	res := soapUndelete(t, s, true, victim, live)
	if u := res.Body.Undelete; len(u) != 2 || u[0].Success || u[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
		u[1].Errors[0].StatusCode != "UNDELETE_FAILED" || u[1].ID != live {
		t.Errorf("allOrNone undelete: %+v", u)
	}
	if _, deleted, _, _ := s.Get("Contact", victim); !deleted {
		t.Errorf("the rolled-back undelete restored the record")
	}
	clock.Advance(time.Hour)
	res = soapUndelete(t, s, false, victim, live, "bogus")
	u := res.Body.Undelete
	if len(u) != 3 || !u[0].Success || u[0].ID != victim || u[1].Errors[0].StatusCode != "UNDELETE_FAILED" || u[2].Errors[0].StatusCode != "MALFORMED_ID" {
		t.Errorf("undelete: %+v", u)
	}
	r, _ := s.Record("Contact", victim)
	if r.IsDeleted || r.MasterRecordID != master || !r.LastModifiedDate.Equal(t0.Add(time.Hour)) {
		t.Errorf("after undelete: %+v", r)
	}
	if got := ids(page(t, get(t, s, q("SELECT Id FROM Contact ORDER BY Id"))).Records); !slices.Equal(got, []string{master, victim, live}) {
		t.Errorf("/query after undelete: %v", got)
	}

	// After 15 days in the recycle bin a record cannot be undeleted.
	s.Delete("Contact", live)
	clock.Advance(15 * 24 * time.Hour)
	if u := soapUndelete(t, s, false, live).Body.Undelete; u[0].Success || u[0].Errors[0].StatusCode != "UNDELETE_FAILED" {
		t.Errorf("undelete after 15 days: %+v", u)
	}

	clearing, _ := setup(t, Options{UndeleteClearsMasterRecordID: true})
	m := clearing.Seed("Lead", nil)
	v := clearing.Seed("Lead", nil)
	soapMerge(t, clearing, "test-token", mergeRequest("Lead", m, nil, v))
	soapUndelete(t, clearing, false, v)
	if _, deleted, mr, _ := clearing.Get("Lead", v); deleted || mr != "" {
		t.Errorf("UndeleteClearsMasterRecordID: deleted %v, master %q", deleted, mr)
	}
	if st := s.Stats(); st.Undelete != 3 {
		t.Errorf("undelete calls %d", st.Undelete)
	}
}

// ---- limits ----

func TestAPIUsageAndTheDailyLimit(t *testing.T) {
	s, clock := setup(t, Options{DailyLimit: 3})
	for i := 1; i <= 3; i++ {
		r := get(t, s, "/services/data/v62.0/limits")
		if r.status != http.StatusOK || r.header.Get("Sforce-Limit-Info") != fmt.Sprintf("api-usage=%d/3", i) {
			t.Fatalf("call %d: %d %q", i, r.status, r.header.Get("Sforce-Limit-Info"))
		}
		if l := r.object(t)["DailyApiRequests"].(map[string]any); l["Max"] != float64(3) || l["Remaining"] != float64(3-i) {
			t.Errorf("limits %v", l)
		}
		clock.Advance(time.Hour)
	}
	r := get(t, s, q("SELECT Id FROM Contact"))
	if r.status != http.StatusForbidden || strings.TrimSpace(string(r.body)) != `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]` ||
		r.header.Get("Sforce-Limit-Info") != "api-usage=3/3" {
		t.Errorf("over the limit: %d %s %q", r.status, r.body, r.header.Get("Sforce-Limit-Info"))
	}
	if f := soapMerge(t, s, "test-token", mergeRequest("Lead", "00QDn0000000001AAA", nil, "00QDn0000000002AAA")).Body.Fault; f == nil || f.Code != "sf:REQUEST_LIMIT_EXCEEDED" {
		t.Errorf("SOAP over the limit: %+v", f)
	}
	// The window rolls: the first call, 3 hours ago, leaves it after 24 hours.
	clock.Advance(21 * time.Hour)
	if r := get(t, s, q("SELECT Id FROM Contact")); r.status != http.StatusOK || r.header.Get("Sforce-Limit-Info") != "api-usage=3/3" {
		t.Errorf("after the window moved: %d %q", r.status, r.header.Get("Sforce-Limit-Info"))
	}
	st := s.Stats()
	if st.APICalls != 4 || st.LimitExceeded != 2 || st.APIUsage != 3 || st.DailyLimit != 3 {
		t.Errorf("stats %+v", st)
	}
	s.Burn(10)
	if s.APIUsage() != 13 {
		t.Errorf("Burn: usage %d", s.APIUsage())
	}
	if r := get(t, s, "/services/data"); r.status != http.StatusOK || r.header.Get("Sforce-Limit-Info") != "" {
		t.Errorf("the versions resource needs no token and is not counted: %d %v", r.status, r.header)
	}
}

// ---- fault injection ----

func TestFailNext(t *testing.T) {
	s, _ := setup(t, Options{})
	s.FailNext(503, 500, 401)
	for _, want := range []struct {
		status int
		code   string
	}{{503, "SERVER_UNAVAILABLE"}, {500, "UNKNOWN_EXCEPTION"}, {401, "INVALID_SESSION_ID"}} {
		r := get(t, s, q("SELECT Id FROM Contact"))
		if r.status != want.status || r.errors(t)[0].ErrorCode != want.code || r.header.Get("Sforce-Limit-Info") == "" {
			t.Errorf("injected %d: %d %s", want.status, r.status, r.body)
		}
	}
	if r := get(t, s, q("SELECT Id FROM Contact")); r.status != http.StatusOK {
		t.Errorf("after the injected failures: %d", r.status)
	}
	s.FailNext(503)
	if f := soapMerge(t, s, "test-token", mergeRequest("Lead", "00QDn0000000001AAA", nil, "00QDn0000000002AAA")); f.status != 503 || f.Body.Fault == nil {
		t.Errorf("injected SOAP failure: %d %+v", f.status, f.Body.Fault)
	}
}

func TestWriteHooks(t *testing.T) {
	s, _ := setup(t, Options{})
	var a []string
	for range 4 {
		a = append(a, s.Seed("Contact", map[string]any{"Title": "old"}))
	}
	var seen []Write
	s.AfterWrite(func(w Write) { seen = append(seen, w) })

	// The connection dies after two of four records: they stay written.
	s.CutAfterWrites(2)
	body := map[string]any{"allOrNone": false, "records": []any{
		rec("Contact", a[0], "Title", "new"), rec("Contact", a[1], "Title", "new"),
		rec("Contact", a[2], "Title", "new"), rec("Contact", a[3], "Title", "new"),
	}}
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPatch, s.URL+"/services/data/v62.0/composite/sobjects", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer test-token")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a cut connection answered %d", resp.StatusCode)
	}
	var titles []any
	for _, id := range a {
		f, _, _, _ := s.Get("Contact", id)
		titles = append(titles, f["Title"])
	}
	if fmt.Sprint(titles) != "[new new old old]" || len(seen) != 2 || seen[0].ID != a[0] || seen[0].Op != "update" || seen[0].Fields["Title"] != "new" {
		t.Errorf("after the cut: titles %v, hooks %v", titles, seen)
	}

	s.LoseNextWrites(1)
	r := call(t, s, "test-token", http.MethodPatch, "/services/data/v62.0/sobjects/Contact/"+a[3], map[string]any{"Title": "lost"})
	if f, _, _, _ := s.Get("Contact", a[3]); r.status != http.StatusGatewayTimeout || f["Title"] != "lost" {
		t.Errorf("a lost answer: %d, title %v", r.status, f["Title"])
	}

	s.HangNextWrites(1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPatch, s.URL+"/services/data/v62.0/sobjects/Contact/"+a[2], strings.NewReader(`{"Title":"hung"}`))
	req.Header.Set("Authorization", "Bearer test-token")
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a hung write: %v", err)
	}
	if f, _, _, _ := s.Get("Contact", a[2]); f["Title"] != "hung" {
		t.Errorf("the hung write did not take effect: %v", f)
	}
	if w := s.Writes(); len(w) != 4 || w[3].Op != "patch" {
		t.Errorf("writes %v", w)
	}
}

func TestLatencyIsPerRequestAndConcurrent(t *testing.T) {
	s, _ := setup(t, Options{Latency: 60 * time.Millisecond})
	start := time.Now()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if r := get(t, s, "/services/data/v62.0/limits"); r.status != http.StatusOK {
				t.Errorf("status %d", r.status)
			}
		})
	}
	wg.Wait()
	// One after the other they would take 600ms.
	if d := time.Since(start); d < 60*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("10 parallel requests at 60ms latency took %v", d)
	}
	s.SetLatency(0)
	start = time.Now()
	get(t, s, "/services/data/v62.0/limits")
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("after SetLatency(0): %v", d)
	}
}

func TestConcurrentClients(t *testing.T) {
	s, _ := setup(t, Options{})
	var idsList []string
	for range 20 {
		idsList = append(idsList, s.Seed("Contact", map[string]any{"Title": "t"}))
	}
	var wg sync.WaitGroup
	for i, id := range idsList {
		wg.Go(func() {
			if r := call(t, s, "test-token", http.MethodPatch, "/services/data/v62.0/sobjects/Contact/"+id, map[string]any{"Title": fmt.Sprint(i)}); r.status != http.StatusNoContent {
				t.Errorf("PATCH %d", r.status)
			}
			page(t, get(t, s, q("SELECT Id, Title FROM Contact")))
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.SinglePatch != 20 || st.Query != 20 || st.RecordsWritten != 20 || st.APICalls != 40 ||
		st.ByEndpoint["PATCH /services/data/{version}/sobjects/{object}/{id}"] != 20 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnknownResources(t *testing.T) {
	s, _ := setup(t, Options{})
	if r := get(t, s, "/services/data/v62.0/nothing/here"); r.status != http.StatusNotFound || r.errors(t)[0].ErrorCode != "NOT_FOUND" {
		t.Errorf("unknown resource: %d %s", r.status, r.body)
	}
	if r := call(t, s, "test-token", http.MethodDelete, q("SELECT Id FROM Contact"), nil); r.status != http.StatusMethodNotAllowed || r.errors(t)[0].ErrorCode != "METHOD_NOT_ALLOWED" {
		t.Errorf("DELETE /query: %d %s", r.status, r.body)
	}
	if r := get(t, s, "/services/data/v58.0/limits"); r.status != http.StatusOK {
		t.Errorf("another API version: %d", r.status)
	}
	var versions []map[string]string
	if err := json.Unmarshal(call(t, s, "", http.MethodGet, "/services/data/", nil).body, &versions); err != nil || len(versions) == 0 {
		t.Fatalf("versions: %v", err)
	}
	for _, v := range versions {
		if v["version"] == "62.0" && (v["label"] != "Winter '25" || v["url"] != "/services/data/v62.0") {
			t.Errorf("version 62.0: %v", v)
		}
	}
}
