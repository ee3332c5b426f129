// Package surveypage serves the plain satisfaction-survey page that survey
// links open: an HTML form and a script from the same origin (no inline
// script, so a strict Content-Security-Policy holds), which read the token
// from the URL's fragment and call GET and POST /surveys/{token}.
package surveypage

import (
	"embed"
	"net/http"
)

//go:embed survey.html survey.js
var files embed.FS

// csp allows nothing but this origin's script and API.
const csp = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the page at /survey and its script at /survey.js, with
// next serving everything else.
func Handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	serve := func(name, contentType string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			b, _ := files.ReadFile(name)
			h := w.Header()
			h.Set("Content-Type", contentType)
			h.Set("Content-Security-Policy", csp)
			h.Set("Cache-Control", "no-store")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(b)
		})
	}
	mux.Handle("GET /survey", serve("survey.html", "text/html; charset=utf-8"))
	mux.Handle("GET /survey.js", serve("survey.js", "text/javascript; charset=utf-8"))
	mux.Handle("/", next)
	return mux
}
