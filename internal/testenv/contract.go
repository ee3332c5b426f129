package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
)

// Every exchange Env.Do makes is checked against the OpenAPI document the
// gateway serves, so that the document generated clients rely on cannot
// drift from what the handlers do.
//
// What is checked:
//   - Every response: its status must be documented for the operation, and
//     its content type, headers and body must match what the document says
//     for that status.
//   - The request, when the answer is 2xx: a request the server accepted must
//     be one the document allows. Requests answered 4xx are not held to the
//     request schema, because tests of refusals send invalid requests on
//     purpose; their answer must still be a documented refusal.
//   - An exchange on a method and path the document does not describe may
//     only be a refusal by the gateway (404 or 405); it is counted apart.
//
// A mismatch fails the test that made the exchange. The message names the
// operation, the status and what did not match (the schema keyword and the
// field's location), never a value: bodies hold test data that looks
// personal.
type contract struct {
	v   validator.Validator
	doc *openAPIDoc
	// mu serializes validation: tests call Do from many goroutines, and one
	// validator shared by all of them is cheaper than proving it
	// goroutine-safe.
	mu sync.Mutex
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error

	// Counts for the end-of-binary report.
	exchangesChecked   atomic.Int64
	requestsChecked    atomic.Int64
	undocumentedRoutes atomic.Int64
	validationTime     atomic.Int64 // nanoseconds
)

// loadContract builds the validator once per test binary, from the document
// the first Env's gateway serves.
func (e *Env) loadContract() (*contract, error) {
	contractOnce.Do(func() {
		resp, err := e.Server.Client().Get(e.Server.URL + "/openapi.json")
		if err != nil {
			contractErr = fmt.Errorf("fetch openapi.json: %w", err)
			return
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			contractErr = fmt.Errorf("fetch openapi.json: status %d: %v", resp.StatusCode, err)
			return
		}
		theContract, contractErr = newContract(raw)
	})
	return theContract, contractErr
}

func newContract(raw []byte) (*contract, error) {
	doc, err := parseOpenAPIDoc(raw)
	if err != nil {
		return nil, err
	}
	d, err := libopenapi.NewDocument(raw)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi.json: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		var b strings.Builder
		for _, ve := range verrs {
			fmt.Fprintf(&b, "\n  %s", ve.Error())
		}
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document:%s", b.String())
	}
	return &contract{v: v, doc: doc}, nil
}

// checkExchange validates one exchange and fails the test on a mismatch.
func (e *Env) checkExchange(method, url string, reqHeader http.Header, reqBody []byte, resp Response) {
	e.TB.Helper()
	c, err := e.loadContract()
	if err != nil {
		e.TB.Errorf("contract: %v", err)
		return
	}
	for _, p := range c.check(method, url, reqHeader, reqBody, resp) {
		e.TB.Errorf("contract: %s", p)
	}
}

// check returns one message per mismatch of the exchange.
func (c *contract) check(method, url string, reqHeader http.Header, reqBody []byte, resp Response) []string {
	newRequest := func() *http.Request {
		r, _ := http.NewRequest(method, url, bytes.NewReader(reqBody))
		r.Header = reqHeader.Clone()
		return r
	}
	req := newRequest()
	op, ok := c.doc.find(method, req.URL.Path)
	if !ok {
		if resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed {
			undocumentedRoutes.Add(1)
			return nil
		}
		return []string{fmt.Sprintf("%s %s is not in the document, yet answered %d", method, req.URL.Path, resp.Status)}
	}
	name := fmt.Sprintf("%s (%s %s) answered %d", op.id, method, op.path, resp.Status)

	hr := &http.Response{
		StatusCode: resp.Status,
		Header:     resp.Header.Clone(),
		Body:       io.NopCloser(bytes.NewReader(resp.Body)),
		Request:    req,
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	defer func() { validationTime.Add(int64(time.Since(start))) }()
	exchangesChecked.Add(1)
	var problems []string
	if ok, errs := c.v.ValidateHttpResponse(req, hr); !ok {
		problems = append(problems, describe(name, "response", errs)...)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		requestsChecked.Add(1)
		if ok, errs := c.v.ValidateHttpRequestSync(newRequest()); !ok {
			problems = append(problems, describe(name, "request", errs)...)
		}
	}
	return problems
}

// describe renders validation errors without the values that failed: the
// validator's messages name parameters, headers and media types, its
// reasons may quote values (a parameter's, a pattern's subject), so schema
// failures are rendered from their keyword and field location and
// parameter reasons are left out.
func describe(name, side string, errs []*verrors.ValidationError) []string {
	var out []string
	for _, ve := range errs {
		msg := fmt.Sprintf("%s: %s %s/%s: %s", name, side, ve.ValidationType, ve.ValidationSubType, ve.Message)
		if len(ve.SchemaValidationErrors) == 0 && ve.ValidationType != "parameter" && ve.Reason != "" {
			msg += " (" + ve.Reason + ")"
		}
		for _, f := range ve.SchemaValidationErrors {
			at := f.FieldPath
			if at == "" {
				at = "$"
			}
			msg += fmt.Sprintf("\n    at %s: %s [%s]", at, safeReason(f), f.KeywordLocation)
		}
		out = append(out, msg)
	}
	return out
}

// safeReason is the schema failure's reason, unless its keyword is one
// whose reason quotes the value that failed.
func safeReason(f *verrors.SchemaValidationFailure) string {
	kw := f.KeywordLocation
	if i := strings.LastIndex(kw, "/"); i >= 0 {
		kw = kw[i+1:]
	}
	switch kw {
	case "pattern":
		return "value does not match the pattern"
	case "format":
		return "value is not of the declared format"
	case "contentEncoding", "contentMediaType":
		return "value is not of the declared content " + kw
	}
	return f.Reason
}

// ContractReport is the line Main prints when a binary's tests are done.
func ContractReport() string {
	return fmt.Sprintf("testenv: %d exchanges validated against openapi.json in %s (%d requests checked, as they were answered 2xx); %d exchanges on routes outside the document, answered 404/405",
		exchangesChecked.Load(), time.Duration(validationTime.Load()).Round(time.Millisecond), requestsChecked.Load(), undocumentedRoutes.Load())
}

// reportContract prints the count, and appends it to the file named by
// CONTRACT_REPORT when set, so a run over many packages can be summed.
func reportContract() {
	if exchangesChecked.Load() == 0 && undocumentedRoutes.Load() == 0 {
		return
	}
	line := ContractReport()
	fmt.Println(line)
	if path := os.Getenv("CONTRACT_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return
		}
		defer f.Close()
		fmt.Fprintf(f, "%d %s\n", exchangesChecked.Load(), line)
	}
}

// openAPIDoc is the part of the document needed to name an exchange's
// operation and to tell documented routes from others.
type openAPIDoc struct {
	ops []operation
}

type operation struct {
	method, path, id string
	segs             []string
}

func parseOpenAPIDoc(raw []byte) (*openAPIDoc, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	doc := &openAPIDoc{}
	for path, item := range d.Paths {
		for m, raw := range item {
			var op struct {
				OperationID string `json:"operationId"`
			}
			if json.Unmarshal(raw, &op) != nil || op.OperationID == "" {
				continue // parameters, summary and the like
			}
			doc.ops = append(doc.ops, operation{
				method: strings.ToUpper(m), path: path, id: op.OperationID,
				segs: strings.Split(strings.Trim(path, "/"), "/"),
			})
		}
	}
	// Literal segments before templated ones, as routers match them:
	// /customers/import before /customers/{id}.
	sort.Slice(doc.ops, func(i, j int) bool {
		return strings.Count(doc.ops[i].path, "{") < strings.Count(doc.ops[j].path, "{")
	})
	return doc, nil
}

func (d *openAPIDoc) find(method, path string) (operation, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, op := range d.ops {
		if op.method != method || len(op.segs) != len(segs) {
			continue
		}
		match := true
		for i, s := range op.segs {
			if strings.HasPrefix(s, "{") {
				if segs[i] == "" {
					match = false
					break
				}
				continue
			}
			if s != segs[i] {
				match = false
				break
			}
		}
		if match {
			return op, true
		}
	}
	return operation{}, false
}
