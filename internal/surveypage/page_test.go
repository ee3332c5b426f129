package surveypage

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Handler(next)
	for _, c := range []struct {
		path, contentType, contains string
		status                      int
	}{
		{"/survey", "text/html", `<script src="survey.js"`, 200},
		{"/survey.js", "text/javascript", "location.hash", 200},
		{"/surveys/abc", "", "", http.StatusTeapot},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.contentType) || !strings.Contains(rec.Body.String(), c.contains) {
			t.Errorf("GET %s: %d %s", c.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if c.status == 200 && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: no CSP", c.path)
		}
	}
	// The page holds no inline script: every <script> loads a file.
	page, _ := files.ReadFile("survey.html")
	if n, m := strings.Count(string(page), "<script"), strings.Count(string(page), "<script src="); n != m {
		t.Errorf("%d scripts, %d from files", n, m)
	}
}
