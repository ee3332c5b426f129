package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/clientele-crm/clientele/internal/api"
)

// FuzzAuthorization sends any Authorization header through the gateway:
// the answer is the function's 200 for a token the authorizer accepts and
// API Gateway's exact 401 otherwise, never a panic or a 5xx; and what it
// accepts carries groups the function can read.
func FuzzAuthorization(f *testing.F) {
	key, err := LoadSigningKey(filepath.Join(f.TempDir(), "k.pem"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	valid, _ := key.Token("alice", []string{"sales"}, now, time.Hour)
	f.Add("Bearer " + valid)
	f.Add("bearer " + valid)
	f.Add("Bearer " + valid[:len(valid)-1])
	f.Add("Bearer " + strings.Replace(valid, ".", "..", 1))
	f.Add("Bearer a.b.c")
	f.Add("Basic YWxpY2U6c2VjcmV0")
	f.Add("Bearer ")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	for _, c := range []jwt.MapClaims{
		{"iss": Issuer, "aud": Audience, "sub": "a", "exp": now.Add(time.Hour).Unix(), "cognito:groups": []string{"x admin"}},
		{"iss": Issuer, "client_id": Audience, "sub": "a", "exp": now.Add(time.Hour).Unix(), "iat": now.Add(time.Hour).Unix()},
		{"iss": Issuer, "aud": []any{Audience, 1}, "sub": "a", "exp": now.Add(time.Hour).Unix()},
		{"iss": Issuer, "aud": Audience, "exp": now.Add(time.Hour).Unix()},
	} {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = key.KeyID
		s, _ := tok.SignedString(key.Private)
		f.Add("Bearer " + s)
	}
	var seen events.APIGatewayV2HTTPRequest
	record := func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		seen = ev
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}, nil
	}
	fns := map[string]Invoker{}
	for _, rt := range api.Routes() {
		fns[rt.Function] = record
	}
	v := NewVerifier(key)
	v.Now = func() time.Time { return now }
	g := New(api.Routes(), fns, v, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, header string) {
		seen = events.APIGatewayV2HTTPRequest{}
		req := httptest.NewRequest("GET", "/customers", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			// API Gateway does not require sub (the function answers
			// 401 without one), but the groups it passes must read.
			claims := seen.RequestContext.Authorizer.JWT.Claims
			if _, err := api.ParseGroups(claims["cognito:groups"]); err != nil {
				t.Fatalf("the gateway passed groups the function cannot read: %q", claims["cognito:groups"])
			}
		case http.StatusUnauthorized:
			if rec.Body.String() != `{"message":"Unauthorized"}` {
				t.Fatalf("401 body %q", rec.Body.String())
			}
		default:
			t.Fatalf("status %d for header %q", rec.Code, header)
		}
	})
}
