package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// LocalOrigins are the web origins the local runtime answers: any port of
// localhost, as a development server of a web client runs on.
var LocalOrigins = []string{"http://localhost:*", "http://127.0.0.1:*"}

// CORS, as API.md's conventions and the stack's HTTP API configure it.
const (
	corsAllowMethods  = "GET, POST, PUT, PATCH, DELETE"
	corsAllowHeaders  = "Authorization, Content-Type, If-Match, Idempotency-Key"
	corsExposeHeaders = "ETag, Location, Retry-After"
	corsMaxAge        = 3600 // seconds
)

// AllowOrigins replaces the origins g answers cross-origin requests from:
// exact origins ("https://console.example.com") or a host with any port
// ("http://localhost:*").
func (g *Gateway) AllowOrigins(origins ...string) { g.origins = slices.Clone(origins) }

// allowed reports whether origin is one of g's origins.
func (g *Gateway) allowed(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range g.origins {
		if host, ok := strings.CutSuffix(o, ":*"); ok {
			port, found := strings.CutPrefix(origin, host+":")
			if origin == host || found && port != "" && strings.Trim(port, "0123456789") == "" {
				return true
			}
			continue
		}
		if origin == o {
			return true
		}
	}
	return false
}

// cors adds the CORS headers for r's origin to w and reports whether r was
// a preflight, which it has then answered, as API Gateway does, before any
// route or authorizer: 204, with the Access-Control-Allow-* headers only
// for an allowed origin.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) (preflight bool) {
	origin := r.Header.Get("Origin")
	h := w.Header()
	if origin != "" {
		// The answer depends on the origin; caches must not share it.
		h.Add("Vary", "Origin")
	}
	ok := g.allowed(origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if ok {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	}
	return false
}
