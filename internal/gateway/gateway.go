// Package gateway is the local stand-in for API Gateway's HTTP API: it
// matches routes from the route table, verifies JWTs as the JWT authorizer
// does, and invokes the same Lambda handlers with the same events.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
)

// Invoker is a Lambda function's handler.
type Invoker func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// maxPayload is API Gateway's request payload limit.
const maxPayload = 10 << 20

// Gateway serves the route table over HTTP.
type Gateway struct {
	routes    []api.Route
	functions map[string]Invoker
	verifier  *Verifier
	log       *slog.Logger
	now       func() time.Time
	// origins are the web origins answered cross-origin (see AllowOrigins).
	origins []string
}

// New returns a gateway for routes, invoking functions by name, that
// answers cross-origin requests from LocalOrigins.
func New(routes []api.Route, functions map[string]Invoker, v *Verifier, log *slog.Logger) *Gateway {
	return &Gateway{routes: routes, functions: functions, verifier: v, log: log, now: time.Now, origins: LocalOrigins}
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.cors(w, r) {
		return
	}
	rt, params, status := g.match(r.Method, r.URL.Path)
	if status != http.StatusOK {
		problem(w, status, map[int]string{
			http.StatusNotFound:         "no route matches " + r.Method + " " + r.URL.Path,
			http.StatusMethodNotAllowed: "the route does not accept " + r.Method,
		}[status])
		return
	}
	var claims map[string]string
	if !rt.Public() {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			unauthorized(w)
			return
		}
		c, err := g.verifier.Verify(token)
		if err != nil || !poolGroups(c["cognito:groups"]) {
			unauthorized(w)
			return
		}
		claims = StringifyClaims(c)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		problem(w, http.StatusBadRequest, "the request body could not be read")
		return
	}
	if len(body) > maxPayload {
		problem(w, http.StatusRequestEntityTooLarge, "the request is over the gateway's 10 MiB limit")
		return
	}
	fn, ok := g.functions[rt.Function]
	if !ok {
		problem(w, http.StatusServiceUnavailable, "function "+rt.Function+" is not running")
		return
	}
	ev := g.event(r, rt, params, claims, body)
	resp, err := fn(r.Context(), ev)
	if err != nil {
		// API Gateway answers a function error with 500; the handlers never
		// return one, so this is a bug worth a log line.
		g.log.Error("function error", slog.String("function", rt.Function), slog.String("error", err.Error()))
		problem(w, http.StatusInternalServerError, "the function failed")
		return
	}
	writeResponse(w, resp)
}

// match finds the route for a request path. Literal segments beat
// parameters, as in API Gateway.
func (g *Gateway) match(method, path string) (api.Route, map[string]string, int) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore, status := -1, -1, http.StatusNotFound
	var bestParams map[string]string
	for i, rt := range g.routes {
		params, score, ok := matchPath(strings.Split(strings.Trim(rt.Path, "/"), "/"), segs)
		if !ok {
			continue
		}
		if rt.Method != method {
			status = http.StatusMethodNotAllowed
			continue
		}
		if score > bestScore {
			best, bestScore, bestParams = i, score, params
		}
	}
	if best < 0 {
		return api.Route{}, nil, status
	}
	return g.routes[best], bestParams, http.StatusOK
}

func matchPath(pattern, segs []string) (map[string]string, int, bool) {
	if len(pattern) != len(segs) {
		return nil, 0, false
	}
	params := map[string]string{}
	score := 0
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, 0, false
			}
			params[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, 0, false
		}
		score++
	}
	return params, score, true
}

// event builds the payload-2.0 event API Gateway would send.
func (g *Gateway) event(r *http.Request, rt api.Route, params, claims map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	now := g.now()
	headers := map[string]string{}
	var cookies []string
	for k, v := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, c := range v {
				cookies = append(cookies, strings.Split(c, "; ")...)
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.Key(), RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: rt.Key(), AccountID: "000000000000", Stage: "$default", RequestID: requestID(),
			APIID: "local", DomainName: r.Host, Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: sourceIP(r), UserAgent: r.UserAgent(),
			},
		},
	}
	if len(params) == 0 {
		ev.PathParameters = nil
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: nil},
		}
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev
}

// StringifyClaims turns JWT claims into the string map API Gateway's JWT
// authorizer passes on: strings as they are, numbers and booleans as text,
// arrays as "[a b c]", objects as JSON.
func StringifyClaims(c map[string]any) map[string]string {
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = stringify(v)
	}
	return out
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = stringify(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []string:
		return "[" + strings.Join(x, " ") + "]"
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// unauthorized answers a request the JWT authorizer refuses exactly as API
// Gateway does, so that clients meet one behaviour locally and on AWS.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("WWW-Authenticate", "Bearer")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
}

// poolGroups reports whether a token's cognito:groups claim is one the user
// pool could have issued: absent, or an array of names api.ValidGroupName
// accepts. On AWS the pool is the only issuer and holds only the roles'
// groups; locally anyone with the state directory can sign any claim, and a
// name such as "x admin" would stringify into two groups the function
// cannot tell from real ones.
func poolGroups(v any) bool {
	if v == nil {
		return true
	}
	arr, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range arr {
		if g, ok := e.(string); !ok || !api.ValidGroupName(g) {
			return false
		}
	}
	return true
}

// problem answers as the gateway itself, in the API's problem+json shape.
func problem(w http.ResponseWriter, status int, detail string) {
	codes := map[int]string{404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "invalid", 500: "internal", 503: "unavailable"}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "https://clientele.dev/problems/" + codes[status], "title": http.StatusText(status), "status": status, "detail": detail,
	})
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func requestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
