package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestGetCustomerEvent(t *testing.T) {
	template, err := os.ReadFile(filepath.Join("..", "..", "events", seedGetEvent))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := getCustomerEvent(template, "c_abcdefghijklmnopqrst")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	want := "/customers/c_abcdefghijklmnopqrst"
	if ev.RawPath != want || ev.RequestContext.HTTP.Path != want {
		t.Errorf("paths = %q, %q, want %q", ev.RawPath, ev.RequestContext.HTTP.Path, want)
	}
	if ev.PathParameters["id"] != "c_abcdefghijklmnopqrst" {
		t.Errorf("pathParameters = %v", ev.PathParameters)
	}
	if ev.RouteKey != "GET /customers/{id}" || ev.RequestContext.HTTP.Method != "GET" {
		t.Errorf("route = %q %q, want the template's GET /customers/{id}", ev.RouteKey, ev.RequestContext.HTTP.Method)
	}
	if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT.Claims["sub"] == "" {
		t.Error("the template's caller was lost")
	}
	t.Run("ErrUnusableID", func(t *testing.T) {
		for _, id := range []string{"", "c_1/interactions", "c_1?x=1"} {
			if _, err := getCustomerEvent(template, id); err == nil {
				t.Errorf("id %q accepted", id)
			}
		}
	})
}

func TestCreatedID(t *testing.T) {
	tests := []struct {
		name string
		r    apiResponse
		want string
		ok   bool
	}{
		{"Created", apiResponse{StatusCode: 201, Body: `{"id":"c_x","name":"…"}`}, "c_x", true},
		{"Duplicate", apiResponse{StatusCode: 409, Body: `{"duplicateOf":"c_y"}`}, "", false},
		{"NoID", apiResponse{StatusCode: 201, Body: `{}`}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createdID(tt.r)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("createdID = %q, %v; want %q, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestEventFile(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "events", "portal-list.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, fn string
		over     map[string]string
		want     string
	}{
		{"Default", "complaints", nil, filepath.Join(root, "events", "complaints-list.json")},
		{"Override", "complaints", map[string]string{"complaints": "x.json"}, "x.json"},
		{"NewFunctionList", "portal", nil, filepath.Join(root, "events", "portal-list.json")},
		{"NewFunctionHealth", "webhooks", nil, filepath.Join(root, "events", "healthz.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventFile(root, tt.fn, tt.over); got != tt.want {
				t.Errorf("eventFile = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultEventsExist(t *testing.T) {
	for fn, f := range defaultEvents {
		if _, err := os.Stat(filepath.Join("..", "..", "events", f)); err != nil {
			t.Errorf("%s's event: %v", fn, err)
		}
	}
	for _, f := range []string{seedCreateEvent, seedGetEvent} {
		if _, err := os.Stat(filepath.Join("..", "..", "events", f)); err != nil {
			t.Errorf("seed event: %v", err)
		}
	}
}

func TestLinkedModules(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := linkedModules(self)
	if err != nil {
		t.Fatal(err)
	}
	// What the running binary knows of itself is the truth to read back
	// from its file.
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("test binary built without module information")
	}
	want := map[string]bool{}
	for _, d := range info.Deps {
		if slices.Contains(watchedModules, d.Path) {
			want[d.Path] = true
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("linkedModules = %v, want %v", got, want)
	}
	if _, err := linkedModules(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing binary gave no error")
	}
}
