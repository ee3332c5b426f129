package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/clientele-crm/clientele/internal/api"
)

// fixture is a gateway over the real route table whose functions record the
// events they receive.
type fixture struct {
	srv  *httptest.Server
	key  *SigningKey
	mu   sync.Mutex
	last events.APIGatewayV2HTTPRequest
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key, err := LoadSigningKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{key: key}
	record := func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		f.mu.Lock()
		f.last = ev
		f.mu.Unlock()
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}, nil
	}
	fns := map[string]Invoker{}
	for _, rt := range api.Routes() {
		fns[rt.Function] = record
	}
	f.srv = httptest.NewServer(New(api.Routes(), fns, NewVerifier(key), slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, token string) *http.Response {
	resp, _ := f.doBody(t, method, path, token)
	return resp
}

func (f *fixture) doBody(t *testing.T, method, path, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": Issuer, "aud": Audience, "sub": "alice", "cognito:groups": []string{"sales"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(k string, v any) jwt.MapClaims {
		c := validClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	pubDER := f.key.Private.PublicKey.N.Bytes()
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"Valid", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, validClaims()), 200},
		{"AccessTokenClientID", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, func() jwt.MapClaims { c := with("aud", nil); c["client_id"] = Audience; return c }()), 200},
		{"ErrMissing", "", 401},
		{"ErrGarbage", "not.a.token", 401},
		{"ErrAlgNone", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, f.key.KeyID, validClaims()), 401},
		{"ErrHS256WithPublicKey", sign(t, jwt.SigningMethodHS256, pubDER, f.key.KeyID, validClaims()), 401},
		{"ErrUnknownKey", sign(t, jwt.SigningMethodRS256, other, "someone-else", validClaims()), 401},
		{"ErrForgedWithKnownKid", sign(t, jwt.SigningMethodRS256, other, f.key.KeyID, validClaims()), 401},
		{"ErrExpired", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("exp", time.Now().Add(-time.Minute).Unix())), 401},
		{"ErrNoExpiry", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("exp", nil)), 401},
		{"ErrNotYetValid", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("nbf", time.Now().Add(time.Hour).Unix())), 401},
		{"ErrWrongIssuer", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("iss", "https://evil.example")), 401},
		{"ErrWrongAudience", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("aud", "another-app")), 401},
		{"AudienceInList", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("aud", []string{"another-app", Audience})), 200},
		// client_id counts only when the token has no aud at all.
		{"ErrWrongAudienceRightClientID", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, func() jwt.MapClaims { c := with("aud", "another-app"); c["client_id"] = Audience; return c }()), 401},
		{"ErrEmptyAudienceRightClientID", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, func() jwt.MapClaims { c := with("aud", []string{}); c["client_id"] = Audience; return c }()), 401},
		{"ErrNoAudienceWrongClientID", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, func() jwt.MapClaims { c := with("aud", nil); c["client_id"] = "another-app"; return c }()), 401},
		{"ErrIssuedInFuture", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("iat", time.Now().Add(time.Hour).Unix())), 401},
		{"NoIssuedAt", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("iat", nil)), 200},
		{"ErrExpiryNotANumber", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("exp", "tomorrow")), 401},
		{"ErrNoKid", sign(t, jwt.SigningMethodRS256, f.key.Private, "", validClaims()), 401},
		{"ErrRS512", sign(t, jwt.SigningMethodRS512, f.key.Private, f.key.KeyID, validClaims()), 401},
		{"ErrPS256", sign(t, jwt.SigningMethodPS256, f.key.Private, f.key.KeyID, validClaims()), 401},
		{"ErrIssuerPrefix", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("iss", Issuer+"/")), 401},
		// Group names the user pool cannot hold: stringified, each would
		// read as admin.
		{"ErrGroupWithSpace", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("cognito:groups", []string{"x admin"})), 401},
		{"ErrGroupWithComma", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("cognito:groups", []string{"sales,admin"})), 401},
		{"ErrGroupQuoted", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("cognito:groups", []string{`"admin"`})), 401},
		{"ErrGroupsAString", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, with("cognito:groups", "admin")), 401},
		{"ErrOversized", "a." + strings.Repeat("b", 20<<10) + ".c", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.doBody(t, "GET", "/customers", tt.token)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			// API Gateway's own answer, byte for byte, so that clients
			// meet one behaviour locally and on AWS.
			if tt.want == 401 && (body != `{"message":"Unauthorized"}` || resp.Header.Get("Content-Type") != "application/json") {
				t.Fatalf("401 answered %q %q, want API Gateway's", resp.Header.Get("Content-Type"), body)
			}
		})
	}
	t.Run("PublicRoutesNeedNoToken", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/openapi.json"} {
			if resp := f.do(t, "GET", p, ""); resp.StatusCode != 200 {
				t.Errorf("%s: status %d", p, resp.StatusCode)
			}
		}
	})
}

func TestEventLikeAPIGateway(t *testing.T) {
	f := newFixture(t)
	tok, err := f.key.Token("alice", []string{"sales", "service"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.do(t, "GET", "/customers/c_123/interactions?limit=5&cursor=x", tok)
	ev := f.last
	claims := ev.RequestContext.Authorizer.JWT.Claims
	switch {
	case ev.RouteKey != "GET /customers/{id}/interactions":
		t.Errorf("routeKey %q", ev.RouteKey)
	case ev.PathParameters["id"] != "c_123":
		t.Errorf("pathParameters %v", ev.PathParameters)
	case ev.RawQueryString != "limit=5&cursor=x":
		t.Errorf("rawQueryString %q", ev.RawQueryString)
	case claims["cognito:groups"] != "[sales service]":
		t.Errorf("cognito:groups arrived as %q, want the HTTP API's stringified array", claims["cognito:groups"])
	case claims["sub"] != "alice" || claims["exp"] == "":
		t.Errorf("claims %v", claims)
	case ev.Headers["authorization"] == "":
		t.Errorf("headers are not lower-cased as API Gateway sends them: %v", ev.Headers)
	}
	a, err := api.ActorFromClaims(claims)
	if err != nil || a.ID != "alice" || len(a.Roles) != 2 {
		t.Errorf("actor %+v", a)
	}
}

func TestRouting(t *testing.T) {
	f := newFixture(t)
	tok, _ := f.key.Token("root", []string{"admin"}, time.Now(), time.Hour)
	tests := []struct {
		method, path, wantRoute string
		wantStatus              int
	}{
		{"POST", "/customers/import", "POST /customers/import", 200},
		{"GET", "/customers/import", "GET /customers/{id}", 200},
		{"GET", "/customers/", "GET /customers", 200},
		{"DELETE", "/healthz", "", 405},
		{"GET", "/nowhere", "", 404},
		{"GET", "/customers/a/b/c", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			f.last = events.APIGatewayV2HTTPRequest{}
			resp := f.do(t, tt.method, tt.path, tok)
			if resp.StatusCode != tt.wantStatus || f.last.RouteKey != tt.wantRoute {
				t.Fatalf("status %d route %q, want %d %q", resp.StatusCode, f.last.RouteKey, tt.wantStatus, tt.wantRoute)
			}
		})
	}
}

func TestStringifyClaims(t *testing.T) {
	var claims map[string]any
	_ = json.Unmarshal([]byte(`{"sub":"a","exp":1700000000,"email_verified":true,"cognito:groups":["admin","sales"],"nested":{"k":"v"}}`), &claims)
	got := StringifyClaims(claims)
	want := map[string]string{"sub": "a", "exp": "1700000000", "email_verified": "true", "cognito:groups": "[admin sales]", "nested": `{"k":"v"}`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestTokenRefusesGroupsThePoolCannotHold(t *testing.T) {
	key, err := LoadSigningKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"x admin", "sales,admin", `"admin"`, "[admin]", ""} {
		if _, err := key.Token("mallory", []string{"sales", g}, time.Now(), time.Hour); err == nil {
			t.Errorf("minted a token with group %q", g)
		}
	}
}

func TestSigningKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "k.pem")
	a, err := LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if a.KeyID != b.KeyID || st.Mode().Perm() != 0o600 {
		t.Fatalf("key ids %s %s, mode %v", a.KeyID, b.KeyID, st.Mode().Perm())
	}
	if strings.Contains(a.KeyID, "/") {
		t.Fatalf("key id %q is not URL-safe", a.KeyID)
	}
}
