package testenv

import (
	"net/http"
	"strings"
	"testing"
)

// contractDoc is a small document with what the checks must tell apart: a
// request schema with a pattern, a documented refusal, a response schema.
const contractDoc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/things": {
      "post": {
        "operationId": "createThing",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["code"], "additionalProperties": false,
          "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}}}},
        "responses": {
          "201": {"description": "made", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string", "pattern": "^t_"}}}}}},
          "400": {"description": "refused", "content": {"application/problem+json": {"schema": {"type": "object"}}}}
        }
      }
    },
    "/things/{id}": {
      "get": {
        "operationId": "getThing",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    }
  }
}`

func TestContractCheck(t *testing.T) {
	c, err := newContract([]byte(contractDoc))
	if err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	answer := func(status int, ct, body string) Response {
		return Response{Status: status, Header: http.Header{"Content-Type": {ct}}, Body: []byte(body)}
	}
	// secret stands for personal data: it may be in a body, never in a message.
	const secret = "13800138000"
	for _, tt := range []struct {
		name, method, path, body string
		resp                     Response
		want                     []string // substrings of the one message expected; none for a clean exchange
	}{
		{"Documented", "POST", "/things", `{"code":"ABC"}`, answer(201, "application/json", `{"id":"t_1"}`), nil},
		{"InvalidRequestRefused", "POST", "/things", `{"code":"` + secret + `"}`, answer(400, "application/problem+json", `{}`), nil},
		{"InvalidRequestAccepted", "POST", "/things", `{"code":"` + secret + `"}`, answer(201, "application/json", `{"id":"t_1"}`),
			[]string{"createThing (POST /things) answered 201", "request", "$.code", "/properties/code/pattern"}},
		{"ResponseOffSchema", "POST", "/things", `{"code":"ABC"}`, answer(201, "application/json", `{"id":"`+secret+`"}`),
			[]string{"createThing (POST /things) answered 201", "response", "$.id", "pattern"}},
		{"UndocumentedStatus", "GET", "/things/t_1", "", answer(409, "application/problem+json", `{}`),
			[]string{"getThing (GET /things/{id}) answered 409", "409"}},
		{"UnknownRouteNotFound", "GET", "/nowhere", "", answer(404, "application/problem+json", `{}`), nil},
		{"UnknownRouteAnswered", "GET", "/nowhere", "", answer(200, "application/json", `{}`), []string{"not in the document"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			got := c.check(tt.method, "http://127.0.0.1:1"+tt.path, jsonHeader, body, tt.resp)
			if len(tt.want) == 0 {
				if len(got) != 0 {
					t.Fatalf("mismatch reported for a documented exchange: %q", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d messages, want 1: %q", len(got), got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("message %q does not name %q", got[0], w)
				}
			}
			if strings.Contains(got[0], secret) {
				t.Errorf("message prints a value from a body: %q", got[0])
			}
		})
	}
}

func TestContractRefusesAnInvalidDocument(t *testing.T) {
	if _, err := newContract([]byte(`{"openapi": "3.1.0", "paths": {}}`)); err == nil {
		t.Fatal("a document without info was accepted")
	}
}
