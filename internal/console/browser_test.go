package console_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/console"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// installStep is what a machine without a browser must run.
const installStep = "apt-get update && apt-get install -y --no-install-recommends chromium (or set CHROME_PATH to a Chromium or Chrome)"

// browserPath finds Chromium: CHROME_PATH, else the usual names on PATH.
func browserPath(t *testing.T) string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("no browser for the console tests: %s", installStep)
	return ""
}

// site is the console and the API on one local origin, as `make run`
// serves them, driven by one headless Chromium.
type site struct {
	t       *testing.T
	e       *testenv.Env
	url     string
	browser context.Context
	axe     string
}

func newSite(t *testing.T) *site {
	if testing.Short() {
		t.Skip("drives a real browser: `make test` runs it")
	}
	chrome := browserPath(t)
	// Loopback webhooks, as the local runtime admits them, so that an
	// endpoint can be registered on this closed network.
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.Webhooks.Loopback = true }))
	srv := httptest.NewServer(console.Local(e.Server.Config.Handler, func(user string, roles []string) (string, error) {
		return e.Key.Token(user, roles, time.Now(), time.Hour)
	}))
	t.Cleanup(srv.Close)
	// The background-networking flags matter here: without them Chromium
	// dials out at start and this closed network refuses it.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v (%s)", chrome, err, installStep)
	}
	t.Cleanup(func() { cancelB(); cancelA() })
	s := &site{t: t, e: e, url: srv.URL, browser: bctx}
	if out, err := exec.Command("../../scripts/axe.sh").Output(); err == nil {
		s.axe = strings.TrimSpace(string(out))
	} else {
		t.Fatalf("axe-core for the accessibility check: %v", err)
	}
	return s
}

// tab opens a new tab for one scenario, bounded in time.
func (s *site) tab(t *testing.T) context.Context {
	ctx, cancel := chromedp.NewContext(s.browser)
	// The first run opens the tab; a deadline on it would close the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	limit := 30 * time.Second
	if os.Getenv("CONSOLE_SCREENSHOTS") != "" {
		// Eight screenshots a screen take their time on a busy machine.
		limit = 3 * time.Minute
	}
	ctx, cancelT := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

func (s *site) run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.fail(t, ctx, err)
	}
}

func (s *site) fail(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : ''`))
	t.Fatalf("%v; page shows: %.400s", err, body)
}

// get runs one action that answers a value.
func get[T any](t *testing.T, s *site, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		s.fail(t, ctx, err)
	}
	return v
}

func (s *site) attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return get(t, s, ctx, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

// js runs a script for its effect.
func js(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool]("("+expr+", true)")(ctx, tg)
		return chromedp.Void{}, err
	}
}

// signIn signs in through the local sign-in page, as a user would.
func (s *site) signIn(t *testing.T, ctx context.Context, role, user string) {
	t.Helper()
	s.run(t, ctx,
		chromedp.Navigate(s.url+"/local/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`#signin select[name=role]`)),
		chromedp.SetValue(chromedp.CSS(`#signin select[name=role]`), role),
		chromedp.SetValue(chromedp.CSS(`#signin input[name=user]`), user),
		chromedp.Click(chromedp.CSS(`#signin button[type=submit]`)),
		// The console's shell, not the sign-in page, which is ready too.
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"] #nav a`)),
	)
}

// goTo opens a console route and waits until it has rendered.
func (s *site) goTo(t *testing.T, ctx context.Context, hash string) {
	t.Helper()
	s.run(t, ctx, chromedp.Navigate(s.url+"/"+hash), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-ready=%q]`, hash))))
}

func (s *site) text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, s, ctx, chromedp.Text(chromedp.CSS(sel)))
}

func (s *site) fill(t *testing.T, ctx context.Context, form string, values map[string]string) {
	t.Helper()
	for k, v := range values {
		s.run(t, ctx, chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`%s [name=%q]`, form, k)), v))
	}
}

// accessible runs axe-core on the page and fails on any serious or
// critical violation.
func (s *site) accessible(t *testing.T, ctx context.Context) {
	t.Helper()
	src, err := os.ReadFile(s.axe)
	if err != nil {
		t.Fatal(err)
	}
	var res []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  int    `json:"nodes"`
	}
	script := string(src) + `;axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length})))`
	res = get(t, s, ctx, chromedp.Evaluate[[]struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  int    `json:"nodes"`
	}](script, chromedp.EvalAwaitPromise))
	for _, v := range res {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("accessibility: %s (%s) on %d element(s): %s", v.ID, v.Impact, v.Nodes, v.Help)
		}
	}
}

// shoot writes desktop and phone screenshots of the current page in both
// languages to docs/console/, only when CONSOLE_SCREENSHOTS is set, so
// that `make test` leaves the tree clean.
func (s *site) shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("CONSOLE_SCREENSHOTS") == "" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "console")
	_ = os.MkdirAll(dir, 0o755)
	for _, lang := range []string{"en", "zh-CN"} {
		// SetValue fires the select's change event: one relabel.
		s.run(t, ctx, chromedp.SetValue(chromedp.CSS(`#lang`), lang), chromedp.Sleep(300*time.Millisecond))
		for _, vp := range []struct {
			tag  string
			w, h int64
		}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
			s.run(t, ctx, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Sleep(150*time.Millisecond))
			png := compactPNG(get(t, s, ctx, chromedp.CaptureScreenshot()))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", name, vp.tag, strings.ToLower(lang[:2]))), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.run(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.SetValue(chromedp.CSS(`#lang`), "en"), chromedp.Sleep(300*time.Millisecond))
}

// api calls the API directly, as another user of the system would.
func (s *site) api(method, path, token string, body any, headers ...string) testenv.Response {
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return s.e.Do(testenv.Request{Method: method, Path: path, Token: token, Body: body, Header: h})
}
