// Package console serves the staff web console and the customer's
// self-service page: static HTML, CSS and JavaScript modules embedded in the
// local runtime. The Lambda functions never import it; on AWS the same files
// are served from S3 behind CloudFront with the same headers.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
)

//go:embed web
var files embed.FS

// Assets returns the console's files, rooted at the site's top.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "web")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// CSP is the console's Content-Security-Policy: scripts, styles and
// connections from its own origin only, no inline code, no framing. apiOrigins
// are the other origins the page may call (the API and, on AWS, the sign-in
// domain); locally there are none, since one process serves both.
func CSP(apiOrigins ...string) string {
	connect := strings.TrimSpace("'self' " + strings.Join(apiOrigins, " "))
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src " + connect + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

// SecurityHeaders sets the headers every console response carries; the
// CloudFront response-headers policy sets the same ones.
func SecurityHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// asset is one file, held compressed too so that a request for it costs no
// compression work.
type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

// Static serves the embedded files: "/" is the console, "/self-service" the
// customer's page, everything else by its path. Unknown paths are 404.
type Static struct {
	assets map[string]asset
	csp    string
}

// NewStatic loads every embedded file.
func NewStatic() *Static {
	s := &Static{assets: map[string]asset{}, csp: CSP()}
	root := Assets()
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if path.Ext(p) == ".js" {
			ctype = "text/javascript; charset=utf-8"
		}
		s.assets["/"+p] = asset{body: b, gz: buf.Bytes(), ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return s
}

// pages maps the pages' addresses to their files.
var pages = map[string]string{"/": "/index.html", "/self-service": "/self-service.html"}

// Pages returns the pages' addresses and the files that answer them, so
// that the CloudFront distribution rewrites the same addresses.
func Pages() map[string]string { return maps.Clone(pages) }

// localOnly are the files only the local runtime serves: the sign-in page
// that has the local runtime mint a token, and its script.
var localOnly = []string{"local-sign-in.html", "js/localsignin.js"}

// Deployable reports whether the file at p (relative to the site's top, as
// Assets names it) belongs in a deployed console. The local sign-in does
// not: on AWS, staff sign in through Cognito, and nothing mints tokens.
func Deployable(p string) bool { return !slices.Contains(localOnly, p) }

// Has reports whether path is one of the static files or pages.
func (s *Static) Has(p string) bool {
	if f, ok := pages[p]; ok {
		p = f
	}
	_, ok := s.assets[p]
	return ok
}

// ServeHTTP implements http.Handler.
func (s *Static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if f, ok := pages[p]; ok {
		p = f
	}
	a, ok := s.assets[p]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	SecurityHeaders(h, s.csp)
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	// Pages and modules revalidate: a new build must reach users at once,
	// and the ETag makes an unchanged file cost a 304.
	h.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
