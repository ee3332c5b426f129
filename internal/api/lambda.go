package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Handler serves API Gateway HTTP API events for the routes of one function.
type Handler struct {
	routes  map[string]routeHandler
	log     *slog.Logger
	audit   crm.AuditLog
	access  crm.AccessCounter
	now     func() time.Time
	timeout time.Duration
	clients ClientLimit
}

type routeHandler struct {
	route Route
	h     http.Handler
}

// NewHandler returns the handler of function's routes, or of every route when
// function is "", each made by its maker in makers. It panics when a route
// it is to serve has no maker, or a maker no route: a function deployed
// without a handler for one of its routes must fail to start, not answer
// 404.
func NewHandler(svc Services, function string, makers Makers) *Handler {
	if svc.Logger == nil {
		svc.Logger = slog.Default()
	}
	if svc.Now == nil {
		svc.Now = time.Now
	}
	if svc.Timeout <= 0 {
		svc.Timeout = 10 * time.Second
	}
	h := &Handler{routes: map[string]routeHandler{}, log: svc.Logger, audit: svc.Audit, access: svc.Access, now: svc.Now, timeout: svc.Timeout, clients: svc.Clients}
	known := map[string]bool{}
	for _, rt := range Routes() {
		known[rt.Key()] = true
		if function != "" && rt.Function != function {
			continue
		}
		mk, ok := makers[rt.Key()]
		if !ok {
			panic(fmt.Sprintf("api: function %q serves %s but has no handler for it", rt.Function, rt.Key()))
		}
		var next http.Handler = mk(&svc)
		if rt.Idempotent {
			next = idempotent(svc.Idempotency, svc.Now, rt, next)
		}
		h.routes[rt.Key()] = routeHandler{route: rt, h: next}
	}
	for k := range makers {
		if !known[k] {
			panic(fmt.Sprintf("api: a handler for %s, which is no route", k))
		}
	}
	return h
}

// answerMargin is kept back from the function's deadline to write the
// answer (and, for a denied sensitive request, its audit entry).
const answerMargin = 1 * time.Second

// budget bounds a request by the function's deadline — Lambda's, carried
// by ctx, or, in the local gateway, the configured timeout from start —
// less answerMargin, so every dependency call inherits a deadline the
// function outlives.
func (h *Handler) budget(ctx context.Context, start time.Time) (context.Context, context.CancelFunc) {
	deadline := start.Add(h.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(ctx, deadline.Add(-answerMargin))
}

// Invoke handles one API Gateway HTTP API (payload format 2.0) event. The
// returned error is always nil: every failure is an HTTP answer.
func (h *Handler) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	ctx, cancel := h.budget(ctx, start)
	defer cancel()
	rec := newRecorder()
	rh, ok := h.routes[ev.RouteKey]
	log := h.log.With(slog.String("requestId", ev.RequestContext.RequestID), slog.String("route", ev.RouteKey))
	if root := traceRoot(ev.Headers["x-amzn-trace-id"]); root != "" {
		// HTTP APIs have no X-Ray tracing of their own: the trace id of
		// the header API Gateway forwards joins the request to its trace.
		log = log.With(slog.String("traceId", root))
	}
	ctx = crm.WithRequestID(ctx, ev.RequestContext.RequestID)
	ctx = context.WithValue(ctx, loggerKey, log)

	r, err := toRequest(ctx, ev)
	var a crm.Actor
	switch {
	case err != nil:
		writeError(rec, r, err)
	case !ok:
		writeProblem(rec, Problem{Type: problemType(crm.ENOTFOUND), Status: http.StatusNotFound, Detail: "no route " + ev.RouteKey, RequestID: requestID(ctx)})
	default:
		a, err = authorize(rh.route, ev)
		if err == nil && a.Client {
			var wait int
			if wait, err = h.clients.allow(ctx, a, h.now()); wait > 0 {
				rec.Header().Set("Retry-After", strconv.Itoa(wait))
			}
		}
		if err != nil {
			writeError(rec, r, err)
			break
		}
		r = r.WithContext(withActor(r.Context(), a))
		serve(rh.h, rec, r)
	}
	if ok && rh.route.Sensitive && rec.status == http.StatusForbidden && h.audit != nil {
		// A refused attempt at sensitive data is itself worth a record.
		id := ev.PathParameters["id"]
		if id == "" {
			id = rh.route.Path
		}
		denied := crm.NewAudit(ctx, a, rh.route.Key(), "route", id)
		denied.Outcome = crm.OutcomeDenied
		if err := h.audit.AppendAudit(ctx, denied); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "denied attempt not audited", slog.String("error", err.Error()))
		}
	}
	if rec.status == http.StatusForbidden && a.ID != "" && h.access != nil {
		// Every refusal counts toward the caller's day in the access
		// report; a lost count loses one count, never the answer.
		if err := h.access.CountAccess(ctx, a.ID, h.now(), crm.AccessRefused); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "refusal not counted", slog.String("error", err.Error()))
		}
	}
	log.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", ev.RequestContext.HTTP.Method),
		slog.Int("status", rec.status),
		slog.String("actor", a.ID),
		slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
	return rec.response(), nil
}

// authorize reads the caller from the authorizer's claims and checks the
// route's roles. API Gateway rejects bad tokens before the function runs;
// this is the second line.
func authorize(rt Route, ev events.APIGatewayV2HTTPRequest) (crm.Actor, error) {
	if rt.Public() {
		return crm.Actor{}, nil
	}
	var claims map[string]string
	if az := ev.RequestContext.Authorizer; az != nil && az.JWT != nil {
		claims = az.JWT.Claims
	}
	a, err := ActorFromClaims(claims)
	if err != nil {
		return a, err
	}
	if a.Client {
		if !rt.AllowsClient(a.Scopes) {
			return a, crm.Errorf(crm.EFORBIDDEN, "this client's scopes do not allow %s", rt.Key())
		}
		return a, nil
	}
	if !a.HasAny(rt.Roles...) {
		return a, crm.Errorf(crm.EFORBIDDEN, "your role may not call %s", rt.Key())
	}
	return a, nil
}

// serve runs h, turning a panic into a 500 so one bad request cannot take the
// function down with it.
func serve(h http.Handler, w *recorder, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			w.reset()
			writeError(w, r, fmt.Errorf("panic: %v", p))
		}
	}()
	h.ServeHTTP(w, r)
}

func toRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	r := (&http.Request{Method: ev.RequestContext.HTTP.Method, Header: http.Header{}, URL: &url.URL{}}).WithContext(ctx)
	r.Body = http.NoBody
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u, err := url.Parse(path)
	if err != nil {
		return r, crm.Errorf(crm.EINVALID, "the request path is malformed")
	}
	u.RawQuery = ev.RawQueryString
	r.URL, r.RequestURI = u, u.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return r, crm.Errorf(crm.EINVALID, "the request body is not valid base64")
		}
	}
	r.Body = readCloser{bytes.NewReader(body)}
	r.ContentLength = int64(len(body))
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	for k, v := range ev.PathParameters {
		r.SetPathValue(k, v)
	}
	return r, nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder is the http.ResponseWriter the handlers write a Lambda response to.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.body.Write(b)
}

func (w *recorder) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
}

func (w *recorder) reset() {
	w.header, w.status, w.wrote = http.Header{}, http.StatusOK, false
	w.body.Reset()
}

func (w *recorder) response() events.APIGatewayV2HTTPResponse {
	headers := make(map[string]string, len(w.header))
	for k, v := range w.header {
		headers[k] = strings.Join(v, ",")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: headers, Body: w.body.String()}
}

// traceRoot returns the Root of an X-Amzn-Trace-Id header
// ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"), or "" when there is
// none of the X-Ray form: the header comes from the client, and only an id
// of that exact form may reach the logs.
func traceRoot(header string) string {
	for _, part := range strings.Split(header, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Root="); ok && traceID.MatchString(v) {
			return v
		}
	}
	return ""
}

var traceID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
