package githubtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/gitrepo"
)

// apiPrefix is where the API is mounted, as in go-github's own tests: a
// client whose BaseURL lacks it (or its trailing slash) fails loudly instead
// of half working.
const apiPrefix = "/api-v3/"

// Documentation pages cited in error bodies and in the handlers' comments.
const (
	docsREST       = "https://docs.github.com/rest"
	docsPulls      = "https://docs.github.com/rest/pulls/pulls"
	docsReviews    = "https://docs.github.com/rest/pulls/reviews"
	docsReviewReqs = "https://docs.github.com/rest/pulls/review-requests"
	docsLabels     = "https://docs.github.com/rest/issues/labels"
	docsComments   = "https://docs.github.com/rest/issues/comments"
	docsStatuses   = "https://docs.github.com/rest/commits/statuses"
	docsCommits    = "https://docs.github.com/rest/commits/commits"
	docsRefs       = "https://docs.github.com/rest/git/refs"
	// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api;
	// go-github tells a secondary limit by this URL's "secondary-rate-limits"
	// suffix.
	docsPrimaryLimit   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
	docsSecondaryLimit = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// apiError is an error response in GitHub's format:
// {"message", "errors", "documentation_url", "status"}; see
// https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
type apiError struct {
	code    int
	message string
	errors  []any // objects (fieldError) or plain strings, as GitHub mixes them
	docs    string
	header  map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.message) }

func fail(code int, docs, message string, errs ...any) *apiError {
	return &apiError{code: code, message: message, errors: errs, docs: docs}
}

// validationFailed is GitHub's 422 for a request whose fields are wrong.
func validationFailed(docs string, errs ...any) *apiError {
	return fail(http.StatusUnprocessableEntity, docs, "Validation Failed", errs...)
}

// unprocessable is the other 422 GitHub sends, with plain-string errors, as
// for a self-approval.
func unprocessable(docs string, errs ...any) *apiError {
	return fail(http.StatusUnprocessableEntity, docs, "Unprocessable Entity", errs...)
}

func notFound() *apiError { return fail(http.StatusNotFound, docsREST, "Not Found") }

// fieldError is one entry of a "Validation Failed" response's errors.
type fieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func customError(resource, message string) fieldError {
	return fieldError{Resource: resource, Code: "custom", Message: message}
}

// call is one request being served.
type call struct {
	s      *Server
	r      *http.Request
	header http.Header
	login  string
	perm   string
	params []string
	git    *gitrepo.Repo
}

// repo opens the bare repository afresh for each request: go-git caches its
// list of packs, and pushes made meanwhile (by git-receive-pack, or the test
// itself) would otherwise stay invisible.
func (c *call) repo() (*gitrepo.Repo, error) {
	if c.git == nil {
		r, err := gitrepo.Open(c.s.opts.BareRepo)
		if err != nil {
			return nil, fmt.Errorf("open the repository behind the API: %w", err)
		}
		c.git = r
	}
	return c.git, nil
}

func (c *call) now() time.Time { return c.s.opts.Now() }

// decode reads the JSON request body into v.
func (c *call) decode(v any) error {
	data, err := io.ReadAll(c.r.Body)
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		// https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
		return fail(http.StatusBadRequest, docsREST, "Problems parsing JSON")
	}
	return nil
}

// handler serves one route: it returns the status and the value to encode
// as JSON (nil for no body), or an error; an *apiError is sent as GitHub
// would, any other error is a bug in the double or the test's setup.
type handler func(c *call) (int, any, error)

type route struct {
	method string
	// path is below /repos/{owner}/{repo}/: "*" matches one segment, "**"
	// one or more (a ref name with slashes), literals match themselves.
	path []string
	// need is the least permission the route requires.
	need string
	h    handler
}

func (s *Server) routeTable() []route {
	r := func(method, path, need string, h handler) route {
		return route{method: method, path: strings.Split(path, "/"), need: need, h: h}
	}
	return []route{
		r("POST", "pulls", "read", s.createPull),
		r("GET", "pulls", "read", s.listPulls),
		r("GET", "pulls/*", "read", s.getPull),
		r("PATCH", "pulls/*", "read", s.updatePull), // author or triage, checked inside
		r("GET", "pulls/*/files", "read", s.listFiles),
		r("GET", "pulls/*/commits", "read", s.listPullCommits),
		r("GET", "pulls/*/reviews", "read", s.listReviews),
		r("POST", "pulls/*/reviews", "read", s.createReview),
		r("GET", "pulls/*/merge", "read", s.isMerged),
		r("PUT", "pulls/*/merge", "write", s.mergePull),
		r("GET", "pulls/*/requested_reviewers", "read", s.listRequestedReviewers),
		r("POST", "pulls/*/requested_reviewers", "triage", s.requestReviewers),
		r("GET", "issues/*", "read", s.getIssue),
		r("GET", "issues/*/labels", "read", s.listLabels),
		r("POST", "issues/*/labels", "triage", s.addLabels),
		r("GET", "issues/*/comments", "read", s.listComments),
		r("GET", "issues/*/events", "read", s.listEvents),
		r("POST", "issues/*/comments", "read", s.createComment),
		r("GET", "collaborators/*/permission", "read", s.getPermission),
		r("POST", "statuses/*", "write", s.createStatus),
		r("GET", "commits/**/statuses", "read", s.listStatuses),
		r("GET", "commits/*/pulls", "read", s.commitPulls),
		r("DELETE", "git/refs/**", "write", s.deleteRef),
	}
}

// match reports whether segs fits pattern and returns the wildcards' values.
func match(pattern, segs []string) ([]string, bool) {
	var params []string
	for i, p := range pattern {
		if p == "**" {
			tail := pattern[i+1:]
			if len(segs)-i < len(tail)+1 {
				return nil, false
			}
			end := len(segs) - len(tail)
			for j, lit := range tail {
				if segs[end+j] != lit {
					return nil, false
				}
			}
			for _, seg := range segs[i:end] {
				if seg == "" {
					return nil, false
				}
			}
			return append(params, strings.Join(segs[i:end], "/")), true
		}
		if i >= len(segs) {
			return nil, false
		}
		switch {
		case p == "*" && segs[i] != "":
			params = append(params, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return params, len(segs) == len(pattern)
}

// ServeHTTP answers one API request. It holds the server's lock throughout,
// so requests are served one at a time whatever the client's concurrency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.requests = append(s.requests, r.Method+" "+strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(apiPrefix, "/")))
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("0000:%06X", s.seq))

	c := &call{s: s, r: r, header: h}
	status, body, err := s.serve(c)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.t.Errorf("githubtest: %s %s: %v", r.Method, r.URL.Path, err)
			ae = fail(http.StatusInternalServerError, docsREST, "Server Error")
		}
		for k, v := range ae.header {
			h.Set(k, v)
		}
		status, body = ae.code, errorBody{
			Message: ae.message, Errors: ae.errors, DocumentationURL: ae.docs, Status: strconv.Itoa(ae.code),
		}
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		s.t.Errorf("githubtest: encode %T: %v", body, err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

type errorBody struct {
	Message          string `json:"message"`
	Errors           []any  `json:"errors,omitempty"`
	DocumentationURL string `json:"documentation_url"`
	Status           string `json:"status"`
}

// serve authenticates, rate-limits and routes, in GitHub's order: a bad
// token is refused before it is counted against any limit.
func (s *Server) serve(c *call) (int, any, error) {
	login, err := s.authenticate(c.r)
	if err != nil {
		return 0, nil, err
	}
	c.login = login
	if err := s.spend(c.header, login); err != nil {
		return 0, nil, err
	}
	segs, ok := splitPath(c.r.URL)
	if !ok || len(segs) < 3 || segs[0] != "repos" ||
		!strings.EqualFold(segs[1], s.opts.Owner) || !strings.EqualFold(segs[2], s.opts.Repo) {
		return 0, nil, notFound()
	}
	c.perm = s.permission(login)
	if !atLeast(c.perm, "read") {
		// A private repository is invisible to whoever cannot read it.
		return 0, nil, notFound()
	}
	for _, rt := range s.routes {
		if rt.method != c.r.Method {
			continue
		}
		params, ok := match(rt.path, segs[3:])
		if !ok {
			continue
		}
		if !atLeast(c.perm, rt.need) {
			return 0, nil, forbidden()
		}
		c.params = params
		return rt.h(c)
	}
	// GitHub answers an unknown route, or a known path with the wrong
	// method, with 404.
	return 0, nil, notFound()
}

// forbidden is GitHub's answer to a token that may see the repository but
// lacks the permission an endpoint needs (as for a GITHUB_TOKEN without the
// right permissions: entry).
func forbidden() *apiError {
	return fail(http.StatusForbidden, docsREST, "Resource not accessible by integration")
}

// splitPath returns the path's segments below the API prefix, each
// unescaped, so that an escaped slash stays inside its segment.
func splitPath(u *url.URL) ([]string, bool) {
	p, ok := strings.CutPrefix(u.EscapedPath(), apiPrefix)
	if !ok {
		return nil, false
	}
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

// authenticate returns the login of the request's token.
// https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
func (s *Server) authenticate(r *http.Request) (string, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if token == "" {
		return "", fail(http.StatusUnauthorized, docsREST, "Requires authentication")
	}
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		return "", fail(http.StatusUnauthorized, docsREST, "Bad credentials")
	}
	login, ok := s.opts.Tokens[strings.TrimSpace(token)]
	if !ok {
		return "", fail(http.StatusUnauthorized, docsREST, "Bad credentials")
	}
	return login, nil
}

// spend counts the request against login's primary rate limit and sets the
// x-ratelimit-* headers every GitHub response carries, or refuses the
// request when a limit is hit (or injected).
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
func (s *Server) spend(h http.Header, login string) error {
	limit := s.opts.RateLimit
	// The wall clock, not Options.Now: go-github compares the reset time
	// with time.Now, and a reset in its future blocks the client.
	now := time.Now()
	if !now.Before(s.window) {
		s.window = now.Add(time.Hour).Truncate(time.Second)
		clear(s.used)
	}
	setRate := func(remaining, used int, reset time.Time) {
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(used))
		h.Set("X-RateLimit-Resource", "core")
	}
	if s.limitNext > 0 {
		s.limitNext--
		switch s.limitKind {
		case Primary, Primary429:
			// A reset a second or two ahead keeps tests fast while still
			// being in the future, as GitHub's always is.
			setRate(0, limit, time.Unix(now.Unix()+1, 0))
			return s.primaryLimit(login, s.limitKind == Primary429)
		default:
			s.used[login]++
			setRate(max(limit-s.used[login], 0), s.used[login], s.window)
			code := http.StatusForbidden
			if s.limitKind == Secondary429 {
				code = http.StatusTooManyRequests
			}
			e := fail(code, docsSecondaryLimit, fmt.Sprintf(
				"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "+
					"If you reach out to GitHub Support for help, please include the request ID 0000:%06X.", s.seq))
			e.header = map[string]string{"Retry-After": "1"}
			return e
		}
	}
	if s.used[login] >= limit {
		setRate(0, s.used[login], s.window)
		return s.primaryLimit(login, false)
	}
	s.used[login]++
	setRate(limit-s.used[login], s.used[login], s.window)
	return nil
}

func (s *Server) primaryLimit(login string, tooMany bool) *apiError {
	code := http.StatusForbidden
	if tooMany {
		code = http.StatusTooManyRequests
	}
	return fail(code, docsPrimaryLimit, fmt.Sprintf(
		"API rate limit exceeded for user ID %d. If you reach out to GitHub Support for help, "+
			"please include the request ID 0000:%06X.", userID(login), s.seq))
}

// permLevel orders repository permissions; ok is false for a name GitHub
// does not have.
func permLevel(perm string) (level int, ok bool) {
	switch perm {
	case "none":
		return 0, true
	case "read":
		return 1, true
	case "triage":
		return 2, true
	case "write":
		return 3, true
	case "maintain":
		return 4, true
	case "admin":
		return 5, true
	}
	return 0, false
}

// atLeast reports whether permission perm includes need.
func atLeast(perm, need string) bool {
	have, _ := permLevel(perm)
	want, _ := permLevel(need)
	return have >= want
}

// permission is login's permission on the repository.
func (s *Server) permission(login string) string {
	if p, ok := s.perms[login]; ok {
		return p
	}
	for _, l := range s.opts.Tokens {
		if l == login {
			return "write"
		}
	}
	return "none"
}

// paginate returns the requested page of items and sets the Link header
// GitHub sends when there is more than one page: per_page defaults to 30 and
// is capped at 100, pages count from 1.
// https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
func paginate[T any](c *call, items []T) []T {
	q := c.r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max((len(items)+per-1)/per, 1)
	link := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path, RawQuery: q.Encode()}
		return "<" + u.String() + ">"
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last))+`; rel="prev"`)
	}
	if page < last {
		links = append(links, link(page+1)+`; rel="next"`, link(last)+`; rel="last"`)
	}
	if page > 1 {
		links = append(links, link(1)+`; rel="first"`)
	}
	if len(links) > 0 {
		c.header.Set("Link", strings.Join(links, ", "))
	}
	lo := (page - 1) * per
	if lo >= len(items) {
		return []T{}
	}
	return items[lo:min(lo+per, len(items))]
}

// userID gives every login a stable id, so JSON is the same from run to run.
func userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%90_000_000) + 10_000_000
}

// timestamp formats t as GitHub does: UTC, whole seconds, RFC 3339.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timestampOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}
