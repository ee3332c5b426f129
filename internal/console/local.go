package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Mint issues a token the local gateway accepts.
type Mint func(user string, roles []string) (string, error)

// localRoles are the roles the local sign-in page offers.
var localRoles = []string{"admin", "sales", "service", "finance", "auditor"}

// Local puts the console in front of the local gateway: the static files,
// the local-only sign-in (a page and POST /local/token), and a config.json
// that tells the console it runs locally. Every other request goes to api.
// It exists only in the local runtime: on AWS the console signs in through
// Cognito and nothing mints tokens.
func Local(api http.Handler, mint Mint) http.Handler {
	static := NewStatic()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		SecurityHeaders(w.Header(), static.csp)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"mode": "local", "apiUrl": "", "signIn": "/local/sign-in"})
	})
	mux.HandleFunc("POST /local/token", func(w http.ResponseWriter, r *http.Request) {
		// A page of another origin must not mint tokens through the
		// user's browser.
		if o := r.Header.Get("Origin"); o != "" && !strings.HasSuffix(o, "://"+r.Host) {
			http.Error(w, "cross-origin sign-in refused", http.StatusForbidden)
			return
		}
		var in struct {
			Role string `json:"role"`
			User string `json:"user"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || !slices.Contains(localRoles, in.Role) || !validUser(in.User) {
			http.Error(w, "a role (admin, sales, service, finance, auditor) and a user id of letters, digits, '.', '_' or '-' are required", http.StatusBadRequest)
			return
		}
		tok, err := mint(in.User, []string{in.Role})
		if err != nil {
			http.Error(w, "the token could not be made", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]string{"token": tok, "role": in.Role, "user": in.User})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/local/sign-in" && r.Method == http.MethodGet {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/local-sign-in.html"
			static.ServeHTTP(w, r2)
			return
		}
		if h, pattern := mux.Handler(r); pattern != "" {
			h.ServeHTTP(w, r)
			return
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && static.Has(r.URL.Path) {
			static.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

func validUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
