package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultEvents names the sample event each function is measured with: a
// read its route table serves, so that the first invoke does the work of a
// typical first request. Customers is measured reading one customer, which
// the run creates first (see seedEvent); this list is its fallback.
var defaultEvents = map[string]string{
	"customers":  "customers-list.json",
	"complaints": "complaints-list.json",
	"reminders":  "reminders-list.json",
	"reports":    "reports-data-quality.json",
	"imports":    "imports-task.json",
	floorName:    "healthz.json",
}

// eventFile returns the sample event for a function: an override given on
// the command line, the default above, else events/<name>-list.json if it
// exists, else the health check (which a function that does not serve it
// answers with a 404, a valid measurement all the same).
func eventFile(root, name string, overrides map[string]string) string {
	if f, ok := overrides[name]; ok {
		return f
	}
	if f, ok := defaultEvents[name]; ok {
		return filepath.Join(root, "events", f)
	}
	if f := filepath.Join(root, "events", name+"-list.json"); fileExists(f) {
		return f
	}
	return filepath.Join(root, "events", "healthz.json")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Sample events the customers function is seeded and measured with.
const (
	seedCreateEvent = "customers-create.json"
	seedGetEvent    = "customers-get-unknown.json"
)

// createdID reads the id of the customer a POST /customers response
// created.
func createdID(r apiResponse) (string, error) {
	if r.StatusCode != 201 {
		return "", fmt.Errorf("POST /customers answered %d, not 201", r.StatusCode)
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Body), &c); err != nil || c.ID == "" {
		return "", errors.New("POST /customers answered 201 without an id")
	}
	return c.ID, nil
}

// getCustomerEvent turns the GET /customers/{id} sample event into a read of
// customer id.
func getCustomerEvent(template []byte, id string) ([]byte, error) {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return nil, fmt.Errorf("unusable customer id %q", id)
	}
	var ev map[string]any
	if err := json.Unmarshal(template, &ev); err != nil {
		return nil, fmt.Errorf("read %s: %w", seedGetEvent, err)
	}
	path := "/customers/" + id
	ev["rawPath"] = path
	ev["pathParameters"] = map[string]any{"id": id}
	rc, _ := ev["requestContext"].(map[string]any)
	h, _ := rc["http"].(map[string]any)
	if h == nil {
		return nil, fmt.Errorf("%s has no requestContext.http", seedGetEvent)
	}
	h["path"] = path
	return json.Marshal(ev)
}
