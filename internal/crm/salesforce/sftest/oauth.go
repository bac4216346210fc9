package sftest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// token serves POST /services/oauth2/token for the OAuth 2.0 client
// credentials flow: form fields grant_type=client_credentials, client_id and
// client_secret (or the id and secret in a Basic Authorization header). The
// answer is {access_token, signature, scope, instance_url, id, token_type:
// "Bearer", issued_at}; signature is the Base64 HMAC-SHA256 of id+issued_at
// keyed with the client secret, and issued_at is milliseconds since the
// epoch. Errors are 400 {error, error_description} with Salesforce's codes:
// unsupported_grant_type "grant type not supported", invalid_client_id
// "client identifier invalid" for an unknown client, invalid_client
// "invalid client credentials" for a wrong secret. Token requests are not
// API calls and are not counted against the limit.
// https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm&type=5
// https://help.salesforce.com/s/articleView?id=service.conversation_transcript_api_sample1.htm&type=5 (response sample)
// https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_flow_errors.htm&type=5
func (s *Server) token(c *exchange) {
	s.stats.Token++
	if len(s.failNextToken) > 0 {
		st := s.failNextToken[0]
		s.failNextToken = s.failNextToken[1:]
		s.oauthError(c, st, "unknown_error", "retry your request")
		return
	}
	if c.r.Method != http.MethodPost {
		s.oauthError(c, http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		s.oauthError(c, http.StatusBadRequest, "invalid_request", "invalid request body")
		return
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := c.r.BasicAuth(); ok && id == "" {
		id, secret = u, p
	}
	switch {
	case form.Get("grant_type") != "client_credentials":
		s.oauthError(c, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	case id != s.opts.ClientID:
		s.oauthError(c, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	case secret != s.opts.ClientSecret:
		s.oauthError(c, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	s.tokenSeq++
	tok := fmt.Sprintf("%s!AQ%s", s.orgID[:15], base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("sftest-session-%08d", s.tokenSeq))))
	s.tokens[tok] = true
	identity := fmt.Sprintf("%s/id/%s/%s", s.URL, s.orgID, makeID("005", 1))
	issued := strconv.FormatInt(c.now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(s.opts.ClientSecret))
	mac.Write([]byte(identity + issued))
	s.writeJSON(c, http.StatusOK, map[string]string{
		"access_token": tok,
		"signature":    base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"scope":        "api",
		"instance_url": s.URL,
		"id":           identity,
		"token_type":   "Bearer",
		"issued_at":    issued,
	})
}

func (s *Server) oauthError(c *exchange, status int, code, desc string) {
	s.writeJSON(c, status, map[string]string{"error": code, "error_description": desc})
}
