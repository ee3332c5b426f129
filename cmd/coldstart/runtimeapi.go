package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Outcome kinds a function reports for an invocation.
const (
	kindResponse  = "response"
	kindError     = "error"
	kindInitError = "init-error"
)

// result is what a function posted back: its response, its invocation
// error, or its init error, and when it arrived.
type result struct {
	kind string
	at   time.Time
	body []byte
	// errorType is the Lambda-Runtime-Function-Error-Type the runtime sent,
	// as a header or, for a response stream that broke, as a trailer.
	errorType string
}

// invocation is the one event the runtime API hands the one process it is
// serving, and the times that process reached the API.
type invocation struct {
	id    string
	event []byte
	// next receives the instant of the process's first GET .../next: the
	// end of its init.
	next chan time.Time
	// done receives the first result the process posts.
	done chan result

	nextSeen, delivered, finished bool
}

// runtimeAPI serves the Lambda Runtime API (2018-06-01) to one function
// process. The process gets exactly one event, as a cold start does; its
// further GET .../next calls wait until it is killed, as Lambda freezes a
// function between events.
type runtimeAPI struct {
	// deadline is how long each invocation is given, as the function's
	// timeout does on Lambda.
	deadline time.Duration

	mu  sync.Mutex
	cur *invocation
	seq int
}

func newRuntimeAPI(deadline time.Duration) *runtimeAPI {
	return &runtimeAPI{deadline: deadline}
}

// begin makes event the one the process gets.
func (a *runtimeAPI) begin(event []byte) *invocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	inv := &invocation{
		id:    fmt.Sprintf("coldstart-%06d", a.seq),
		event: event,
		next:  make(chan time.Time, 1),
		done:  make(chan result, 1),
	}
	a.cur = inv
	return inv
}

// handler returns the runtime API's routes.
func (a *runtimeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", a.handleResult(kindResponse))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", a.handleResult(kindError))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", a.handleResult(kindInitError))
	return mux
}

func (a *runtimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	// The instant is taken before anything else, so that the API's own
	// bookkeeping is not counted as the function's init.
	now := time.Now()
	a.mu.Lock()
	inv := a.cur
	var give bool
	if inv != nil {
		if !inv.nextSeen {
			inv.nextSeen = true
			inv.next <- now
		}
		if !inv.delivered {
			inv.delivered = true
			give = true
		}
	}
	a.mu.Unlock()
	if !give {
		// Nothing more for this process: hold the request until the
		// process is killed or the server stops.
		<-r.Context().Done()
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(a.deadline).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111122223333:function:coldstart")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.event)
}

func (a *runtimeAPI) handleResult(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		res := result{kind: kind, at: now, body: body, errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
		// A response that failed while streaming says so in trailers,
		// which are readable only once the body has been read.
		if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
			res.kind, res.errorType = kindError, t
		}
		a.mu.Lock()
		inv := a.cur
		ok := inv != nil && !inv.finished && (kind == kindInitError || r.PathValue("id") == inv.id)
		if ok {
			inv.finished = true
			inv.done <- res
		}
		a.mu.Unlock()
		if !ok {
			http.Error(w, "no such invocation", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// serveRuntimeAPI serves a on a free loopback port until ctx is done. It
// returns the host:port to put in AWS_LAMBDA_RUNTIME_API and a function that
// stops the server.
func serveRuntimeAPI(ctx context.Context, a *runtimeAPI) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the runtime API: %w", err)
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
