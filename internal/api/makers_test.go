package api

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestEachFunctionHasTheMakersOfItsRoutes checks that every function's
// set of makers holds exactly the routes the table gives it, and that no
// route is made by two sets: a function's Lambda links only its own
// handlers, so a route missing from its set would be served by no one.
func TestEachFunctionHasTheMakersOfItsRoutes(t *testing.T) {
	want := map[string][]string{}
	for _, rt := range Routes() {
		want[rt.Function] = append(want[rt.Function], rt.Key())
	}
	sets := makerSets()
	if got := slices.Sorted(maps.Keys(sets)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("maker sets for %v, want one per function of the route table: %v", got, slices.Sorted(maps.Keys(want)))
	}
	owner := map[string]string{}
	for fn, set := range sets {
		keys := slices.Sorted(maps.Keys(set()))
		if w := slices.Sorted(slices.Values(want[fn])); !slices.Equal(keys, w) {
			t.Errorf("%s makes %v, want %v", fn, keys, w)
		}
		for _, k := range keys {
			if o, ok := owner[k]; ok {
				t.Errorf("%s is made by both %s and %s", k, o, fn)
			}
			owner[k] = fn
		}
	}
	if all := AllRoutes(); len(all) != len(Routes()) {
		t.Errorf("AllRoutes makes %d routes, want %d", len(all), len(Routes()))
	}
}

// TestNewHandlerRefusesAMissingMaker checks that a function missing the
// maker of one of its routes fails at construction rather than answering
// 404, and that so does a maker of no route.
func TestNewHandlerRefusesAMissingMaker(t *testing.T) {
	svc := Services{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	panics := func(what string, makers Makers) string {
		t.Helper()
		var msg string
		func() {
			defer func() {
				if r := recover(); r != nil {
					msg, _ = r.(string)
				}
			}()
			NewHandler(svc, FnReminders, makers)
		}()
		if msg == "" {
			t.Errorf("%s: no panic", what)
		}
		return msg
	}
	short := RemindersRoutes()
	delete(short, "GET /reminders")
	if msg := panics("a missing maker", short); msg != "" && !strings.Contains(msg, "GET /reminders") {
		t.Errorf("panic %q does not name the route", msg)
	}
	extra := RemindersRoutes()
	extra["GET /nowhere"] = extra["GET /reminders"]
	if msg := panics("a maker of no route", extra); msg != "" && !strings.Contains(msg, "GET /nowhere") {
		t.Errorf("panic %q does not name the key", msg)
	}
	h := NewHandler(svc, FnReminders, RemindersRoutes())
	if got := slices.Sorted(maps.Keys(h.routes)); !slices.Equal(got, []string{"GET /reminders", "POST /reminders/{id}/done"}) {
		t.Errorf("reminders serves %v", got)
	}
}
