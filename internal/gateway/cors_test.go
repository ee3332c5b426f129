package gateway

import (
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func (f *fixture) cross(t *testing.T, method, path, origin string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	req.Header.Set("Origin", origin)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCORSPreflight(t *testing.T) {
	f := newFixture(t)
	preflight := map[string]string{"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization, if-match"}

	for _, origin := range []string{"http://localhost:5173", "http://127.0.0.1:3000", "http://localhost"} {
		t.Run("Allowed "+origin, func(t *testing.T) {
			// No token: a preflight never carries one.
			resp := f.cross(t, http.MethodOptions, "/customers/c1", origin, preflight)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.StatusCode)
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":  origin,
				"Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, Idempotency-Key",
				"Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
				"Vary":                         "Origin",
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}

	for _, origin := range []string{"https://evil.example", "http://localhost.evil.example:80", "http://localhost:80x", "null"} {
		t.Run("Refused "+origin, func(t *testing.T) {
			resp := f.cross(t, http.MethodOptions, "/customers/c1", origin, preflight)
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status %d, want 204", resp.StatusCode)
			}
			for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
				if got := resp.Header.Get(k); got != "" {
					t.Errorf("%s = %q for a foreign origin", k, got)
				}
			}
		})
	}
}

func TestCORSResponses(t *testing.T) {
	f := newFixture(t)
	token := sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, validClaims())

	t.Run("AllowedOriginSeesExposedHeaders", func(t *testing.T) {
		resp := f.cross(t, http.MethodGet, "/customers", "http://localhost:5173", map[string]string{"Authorization": "Bearer " + token})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
			t.Errorf("Access-Control-Allow-Origin = %q", got)
		}
		if got := resp.Header.Get("Access-Control-Expose-Headers"); got != "ETag, Location, Retry-After" {
			t.Errorf("Access-Control-Expose-Headers = %q", got)
		}
	})

	t.Run("EvenOnUnauthorized", func(t *testing.T) {
		// A browser shows a 401 to the page only with the CORS headers.
		resp := f.cross(t, http.MethodGet, "/customers", "http://127.0.0.1:8081", nil)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8081" {
			t.Errorf("status %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("ForeignOriginGetsNone", func(t *testing.T) {
		resp := f.cross(t, http.MethodGet, "/customers", "https://evil.example", map[string]string{"Authorization": "Bearer " + token})
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q for a foreign origin", got)
		}
	})

	t.Run("ConfiguredOriginsReplaceLocal", func(t *testing.T) {
		g := New(nil, nil, nil, nil)
		g.AllowOrigins("https://console.example.com")
		if !g.allowed("https://console.example.com") || g.allowed("http://localhost:5173") || g.allowed("https://console.example.com.evil") {
			t.Error("AllowOrigins does not replace the local origins with exactly the ones given")
		}
	})

	t.Run("OptionsWithoutPreflightIsRouted", func(t *testing.T) {
		resp := f.cross(t, http.MethodOptions, "/customers", "http://localhost:5173", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405 (an OPTIONS that is no preflight goes to the routes)", resp.StatusCode)
		}
	})
}
