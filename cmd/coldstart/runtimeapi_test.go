package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// envFakeFunction makes the test binary, exec'd by the runner, behave as a
// Lambda function built on aws-lambda-go's own runtime loop, so that the
// runtime API is tested against the client the real functions use.
const envFakeFunction = "COLDSTART_FAKE_FUNCTION"

func TestMain(m *testing.M) {
	if mode := os.Getenv(envFakeFunction); mode != "" {
		fakeFunction(mode)
		return
	}
	os.Exit(m.Run())
}

// fakeFunction is a function whose behaviour the mode picks: "ok" answers
// 200, "fail" returns an error, "crash" exits during init, "slow" spends
// 60 ms in init, "status5xx" answers 503.
func fakeFunction(mode string) {
	status := http.StatusOK
	fmt.Fprintln(os.Stderr, "runtime API at", os.Getenv("AWS_LAMBDA_RUNTIME_API"))
	switch mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "fake: configuration missing")
		os.Exit(3)
	case "slow":
		time.Sleep(60 * time.Millisecond)
	case "status5xx":
		status = http.StatusServiceUnavailable
	}
	lambda.Start(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if mode == "fail" {
			return events.APIGatewayV2HTTPResponse{}, errors.New("handler broke")
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: `{"path":"` + ev.RawPath + `"}`}, nil
	})
}

// startAPI serves a runtime API for the test's life.
func startAPI(t *testing.T) (*runtimeAPI, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	api := newRuntimeAPI(time.Minute)
	addr, stop, err := serveRuntimeAPI(ctx, api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); stop() })
	return api, addr
}

func post(t *testing.T, url, body string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRuntimeAPI(t *testing.T) {
	api, addr := startAPI(t)
	base := "http://" + addr + "/2018-06-01/runtime"
	event := []byte(`{"rawPath":"/customers"}`)
	inv := api.begin(event)
	before := time.Now()

	resp, err := http.Get(base + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, event) {
		t.Fatalf("next = %d %q, want 200 with the event", resp.StatusCode, got)
	}
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if id != inv.id {
		t.Errorf("request id = %q, want %q", id, inv.id)
	}
	dl, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if err != nil || time.UnixMilli(dl).Before(before.Add(59*time.Second)) {
		t.Errorf("deadline header %q is not a minute ahead", resp.Header.Get("Lambda-Runtime-Deadline-Ms"))
	}
	select {
	case at := <-inv.next:
		if at.Before(before) || at.After(time.Now()) {
			t.Errorf("next recorded at %v, outside the request", at)
		}
	default:
		t.Fatal("the first GET next was not recorded")
	}

	t.Run("StaleIDRefused", func(t *testing.T) {
		if code := post(t, base+"/invocation/other-id/response", `{}`, nil); code != http.StatusBadRequest {
			t.Errorf("response to another id = %d, want 400", code)
		}
	})
	if code := post(t, base+"/invocation/"+id+"/response", `{"statusCode":200}`, nil); code != http.StatusAccepted {
		t.Fatalf("response = %d, want 202", code)
	}
	res := <-inv.done
	if res.kind != kindResponse || string(res.body) != `{"statusCode":200}` {
		t.Errorf("result = %s %q", res.kind, res.body)
	}
	t.Run("SecondResultRefused", func(t *testing.T) {
		if code := post(t, base+"/invocation/"+id+"/response", `{}`, nil); code != http.StatusBadRequest {
			t.Errorf("second response = %d, want 400", code)
		}
	})
	t.Run("SecondNextWaits", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/invocation/next", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("second next answered %d; it must wait until the process is killed", resp.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	})
}

func TestRuntimeAPIErrors(t *testing.T) {
	api, addr := startAPI(t)
	base := "http://" + addr + "/2018-06-01/runtime"

	t.Run("InvocationError", func(t *testing.T) {
		inv := api.begin([]byte(`{}`))
		h := http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.Unknown"}}
		if code := post(t, base+"/invocation/"+inv.id+"/error", `{"errorMessage":"boom","errorType":"errorString"}`, h); code != http.StatusAccepted {
			t.Fatalf("error = %d, want 202", code)
		}
		res := <-inv.done
		if res.kind != kindError || res.errorType != "Runtime.Unknown" {
			t.Errorf("result = %s %q", res.kind, res.errorType)
		}
		if got, want := describe(res), "error errorString: boom"; got != want {
			t.Errorf("describe = %q, want %q", got, want)
		}
	})
	t.Run("InitError", func(t *testing.T) {
		inv := api.begin([]byte(`{}`))
		if code := post(t, base+"/init/error", `{"errorMessage":"no table","errorType":"Config"}`, nil); code != http.StatusAccepted {
			t.Fatalf("init error = %d, want 202", code)
		}
		if res := <-inv.done; res.kind != kindInitError {
			t.Errorf("result kind = %s, want %s", res.kind, kindInitError)
		}
	})
	t.Run("SecondInitErrorRefused", func(t *testing.T) {
		if code := post(t, base+"/init/error", `{}`, nil); code != http.StatusBadRequest {
			t.Errorf("init error after a result = %d, want 400", code)
		}
	})
}

// fakeRunner runs the test binary as a function in the given mode.
func fakeRunner(t *testing.T) (*runner, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &runner{timeout: 20 * time.Second}, self
}

func TestRunner(t *testing.T) {
	rn, self := fakeRunner(t)
	ctx := context.Background()
	event := []byte(`{"version":"2.0","rawPath":"/reports/data-quality"}`)

	t.Run("Answers", func(t *testing.T) {
		s, res, _, err := rn.run(ctx, self, []string{envFakeFunction + "=ok"}, event)
		if err != nil {
			t.Fatal(err)
		}
		r, err := checkAPIResponse(res)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != 200 || r.Body != `{"path":"/reports/data-quality"}` {
			t.Errorf("response = %d %s, want 200 echoing the event's path", r.StatusCode, r.Body)
		}
		if s.init <= 0 || s.total < s.init {
			t.Errorf("sample = %+v, want 0 < init ≤ total", s)
		}
	})
	t.Run("APIGoneWithTheProcess", func(t *testing.T) {
		// A request the killed process left in flight must not reach the
		// next process's API, where it would take that process's event.
		_, _, stderr, err := rn.run(ctx, self, []string{envFakeFunction + "=ok"}, event)
		if err != nil {
			t.Fatal(err)
		}
		_, addr, ok := strings.Cut(strings.SplitN(stderr, "\n", 2)[0], "runtime API at ")
		if !ok || addr == "" {
			t.Fatalf("the fake did not print its runtime API: %q", stderr)
		}
		resp, err := http.Get("http://" + addr + "/2018-06-01/runtime/invocation/next")
		if err == nil {
			resp.Body.Close()
			t.Errorf("the runtime API at %s still answers (%d) after its process ended", addr, resp.StatusCode)
		}
	})
	t.Run("InitTimeIncludesInitWork", func(t *testing.T) {
		s, _, _, err := rn.run(ctx, self, []string{envFakeFunction + "=slow"}, event)
		if err != nil {
			t.Fatal(err)
		}
		if s.init < 60*time.Millisecond {
			t.Errorf("init = %v, want at least the 60 ms the function sleeps", s.init)
		}
	})
	t.Run("HandlerErrorRejected", func(t *testing.T) {
		_, res, _, err := rn.run(ctx, self, []string{envFakeFunction + "=fail"}, event)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkAPIResponse(res); err == nil || !strings.Contains(err.Error(), "handler broke") {
			t.Errorf("checkAPIResponse = %v, want the handler's error", err)
		}
	})
	t.Run("ServerErrorRejected", func(t *testing.T) {
		_, res, _, err := rn.run(ctx, self, []string{envFakeFunction + "=status5xx"}, event)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkAPIResponse(res); err == nil {
			t.Error("a 503 was accepted as a measurement")
		}
	})
	t.Run("CrashDuringInit", func(t *testing.T) {
		_, _, stderr, err := rn.run(ctx, self, []string{envFakeFunction + "=crash"}, event)
		if err == nil || !strings.Contains(err.Error(), "exited during init") {
			t.Errorf("err = %v, want exited during init", err)
		}
		if !strings.Contains(stderr, "configuration missing") {
			t.Errorf("stderr = %q, want the function's message", stderr)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		short := *rn
		short.timeout = 20 * time.Millisecond
		start := time.Now()
		_, _, _, err := short.run(ctx, self, []string{envFakeFunction + "=slow"}, event)
		if err == nil || !strings.Contains(err.Error(), "no GET") {
			t.Errorf("err = %v, want a timeout before GET next", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("timed-out run took %v", time.Since(start))
		}
	})
}

func TestCheckAPIResponse(t *testing.T) {
	tests := []struct {
		name string
		res  result
		ok   bool
	}{
		{"OK", result{kind: kindResponse, body: []byte(`{"statusCode":200,"body":"{}"}`)}, true},
		{"NotFound", result{kind: kindResponse, body: []byte(`{"statusCode":404}`)}, true},
		{"Forbidden", result{kind: kindResponse, body: []byte(`{"statusCode":403}`)}, true},
		{"Redirect", result{kind: kindResponse, body: []byte(`{"statusCode":308}`)}, false},
		{"ServerError", result{kind: kindResponse, body: []byte(`{"statusCode":500}`)}, false},
		{"NotAnAPIResponse", result{kind: kindResponse, body: []byte(`"hello"`)}, false},
		{"NoStatus", result{kind: kindResponse, body: []byte(`{"body":"x"}`)}, false},
		{"BatchAllDone", result{kind: kindResponse, body: []byte(`{"batchItemFailures":null}`)}, true},
		{"BatchEmpty", result{kind: kindResponse, body: []byte(`{"batchItemFailures":[]}`)}, true},
		{"BatchFailed", result{kind: kindResponse, body: []byte(`{"batchItemFailures":[{"itemIdentifier":"m1"}]}`)}, false},
		{"InvocationError", result{kind: kindError, body: []byte(`{"errorMessage":"x"}`)}, false},
		{"InitError", result{kind: kindInitError}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkAPIResponse(tt.res)
			if (err == nil) != tt.ok {
				t.Errorf("checkAPIResponse = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestWaitBothReady covers a process that asked for its event and answered
// before the runner looked: both channels are ready, and the answer must
// count with its init, whichever select picks.
func TestWaitBothReady(t *testing.T) {
	rn := &runner{timeout: time.Second}
	start := time.Now()
	for i := range 50 {
		inv := &invocation{next: make(chan time.Time, 1), done: make(chan result, 1)}
		inv.next <- start.Add(10 * time.Millisecond)
		inv.done <- result{kind: kindResponse, at: start.Add(15 * time.Millisecond)}
		exited := make(chan error, 1)
		if i%2 == 1 {
			// It also exited after answering.
			exited <- errors.New("exit status 2")
		}
		s, res, err := rn.wait(context.Background(), inv, start, exited, func() {})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if s.init != 10*time.Millisecond || s.total != 15*time.Millisecond || res.kind != kindResponse {
			t.Fatalf("run %d: sample %+v, result %s; want 10ms, 15ms, a response", i, s, res.kind)
		}
	}
}
