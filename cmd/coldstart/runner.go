package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errStuck marks a process that ran out of time.
var errStuck = errors.New("stuck")

// sample is one cold start: exec to the first GET .../next, and exec to
// the response to the one event.
type sample struct {
	init, total time.Duration
}

// runner starts function processes, one at a time, each against a runtime
// API of its own: a request a killed process left in flight then cannot
// reach the next process's API and take its event.
type runner struct {
	// env is the environment every process gets, before its own additions.
	env []string
	// timeout bounds one process's init plus its invocation.
	timeout time.Duration
}

// run execs path with env added to the runner's, hands it event once it
// asks for one, waits for its answer and kills it. It returns the timings,
// the answer, and what the process wrote to stderr (capped).
func (rn *runner) run(ctx context.Context, path string, env []string, event []byte) (sample, result, string, error) {
	api := newRuntimeAPI(rn.timeout)
	inv := api.begin(event)
	addr, stopAPI, err := serveRuntimeAPI(ctx, api)
	if err != nil {
		return sample{}, result{}, "", err
	}
	defer stopAPI()

	stderr := &tailBuffer{max: 256 << 10}
	cmd := exec.Command(path)
	cmd.Env = append(append(append([]string(nil), rn.env...), "AWS_LAMBDA_RUNTIME_API="+addr), env...)
	cmd.Stderr = stderr
	// Its own process group, so that kill reaches anything it spawned;
	// and killed by the kernel should this program die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, result{}, "", fmt.Errorf("start %s: %w", path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	kill := func() {
		if !stopped {
			stopped = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}

	s, res, err := rn.wait(ctx, inv, start, exited, func() { stopped = true })
	if errors.Is(err, errStuck) && !stopped {
		// SIGQUIT makes a Go program print every goroutine's stack: where
		// it was stuck is in its last output.
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
		select {
		case <-exited:
			stopped = true
		case <-time.After(2 * time.Second):
		}
	}
	// Killed and reaped before stderr is read, so that everything the
	// process wrote is in it.
	kill()
	return s, res, stderr.String(), err
}

// wait waits for the process to ask for its event and answer it, to exit,
// or to run out of time. markExited is called when the process has exited
// of its own accord.
func (rn *runner) wait(ctx context.Context, inv *invocation, start time.Time, exited <-chan error, markExited func()) (sample, result, error) {
	timer := time.NewTimer(rn.timeout)
	defer timer.Stop()
	// A fast process can ask for its event and answer it before this
	// goroutine looks, and select picks among ready channels at random: so
	// whatever ends the wait first takes the init instant if it is there.
	var s sample
	initDone := false
	takeNext := func() {
		if !initDone {
			select {
			case t := <-inv.next:
				s.init, initDone = t.Sub(start), true
			default:
			}
		}
	}
	answered := func(res result) (sample, result, error) {
		if !initDone {
			// An init error posted before any GET .../next.
			return s, res, fmt.Errorf("init failed: %s", describe(res))
		}
		s.total = res.at.Sub(start)
		return s, res, nil
	}
	for {
		select {
		case t := <-inv.next:
			s.init, initDone = t.Sub(start), true
		case res := <-inv.done:
			takeNext()
			return answered(res)
		case err := <-exited:
			markExited()
			takeNext()
			select {
			case res := <-inv.done:
				// It answered, then exited: the answer still counts.
				return answered(res)
			default:
			}
			if !initDone {
				return s, result{}, fmt.Errorf("exited during init (%v)", err)
			}
			return s, result{}, fmt.Errorf("exited during its invocation (%v)", err)
		case <-timer.C:
			takeNext()
			if !initDone {
				return s, result{}, fmt.Errorf("%w: no GET .../next within %s", errStuck, rn.timeout)
			}
			return s, result{}, fmt.Errorf("%w: no response within %s", errStuck, rn.timeout)
		case <-ctx.Done():
			return s, result{}, ctx.Err()
		}
	}
}

// apiResponse is the part of an API Gateway HTTP API (payload 2.0)
// response the benchmark checks.
type apiResponse struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

// checkAPIResponse accepts a response whose status is 2xx or 4xx: the
// function initialized and answered the request. A function fed by a
// queue (imports) answers an SQS batch instead; that is accepted when no
// message of the batch failed. A 5xx, an invocation or init error, or
// anything else means the measurement is not of a working function.
func checkAPIResponse(res result) (apiResponse, error) {
	if res.kind != kindResponse {
		return apiResponse{}, fmt.Errorf("function reported %s", describe(res))
	}
	var r apiResponse
	if err := json.Unmarshal(res.body, &r); err != nil || r.StatusCode == 0 {
		var batch struct {
			Failures *[]json.RawMessage `json:"batchItemFailures"`
		}
		if json.Unmarshal(res.body, &batch) == nil && bytes.Contains(res.body, []byte(`"batchItemFailures"`)) {
			if batch.Failures != nil && len(*batch.Failures) > 0 {
				return apiResponse{}, fmt.Errorf("%d messages of the batch failed", len(*batch.Failures))
			}
			return apiResponse{StatusCode: http.StatusOK}, nil
		}
		return apiResponse{}, errors.New("response is neither an API Gateway response (no statusCode) nor an SQS batch response")
	}
	if r.StatusCode < 200 || r.StatusCode >= 500 || (r.StatusCode >= 300 && r.StatusCode < 400) {
		return r, fmt.Errorf("API response status %d", r.StatusCode)
	}
	return r, nil
}

// describe names a result for an error message: its kind and, for errors,
// the runtime's error type and message. Response bodies are not quoted,
// since they may hold a customer's data.
func describe(res result) string {
	if res.kind == kindResponse {
		return "a response"
	}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	_ = json.Unmarshal(res.body, &e)
	t := e.Type
	if t == "" {
		t = res.errorType
	}
	return fmt.Sprintf("%s %s: %s", res.kind, t, e.Message)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int

	mu  sync.Mutex
	buf []byte
}

// Write never fails, so that os/exec keeps draining the process's output.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// lastLines returns at most n trailing lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
