package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/clientele-crm/clientele/internal/crm"
)

// statusOf maps each error code to its HTTP status. It is the only place the
// API decides a status from an error.
var statusOf = map[string]int{
	crm.EINVALID:      http.StatusBadRequest,
	crm.EUNAUTHORIZED: http.StatusUnauthorized,
	crm.EFORBIDDEN:    http.StatusForbidden,
	crm.ENOTFOUND:     http.StatusNotFound,
	crm.EGONE:         http.StatusGone,
	crm.ECONFLICT:     http.StatusConflict,
	crm.EPRECONDITION: http.StatusPreconditionFailed,
	crm.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	crm.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	crm.EIDEMPOTENCY:  http.StatusUnprocessableEntity,
	crm.ETHROTTLED:    http.StatusTooManyRequests,
	crm.EUNAVAILABLE:  http.StatusServiceUnavailable,
	crm.EINTEGRITY:    http.StatusInternalServerError,
	crm.EINTERNAL:     http.StatusInternalServerError,
	// A write to a merged-away customer; a read is redirected instead.
	crm.EMOVED: http.StatusConflict,
}

var titleOf = map[int]string{
	http.StatusBadRequest:            "Invalid request",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "Not found",
	http.StatusGone:                  "Gone",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusConflict:              "Conflict",
	http.StatusPreconditionFailed:    "Precondition failed",
	http.StatusRequestEntityTooLarge: "Request body too large",
	http.StatusUnsupportedMediaType:  "Unsupported media type",
	http.StatusUnprocessableEntity:   "Idempotency key reused",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusServiceUnavailable:    "Service unavailable",
	http.StatusInternalServerError:   "Internal error",
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type        string           `json:"type"`
	Title       string           `json:"title"`
	Status      int              `json:"status"`
	Detail      string           `json:"detail,omitempty"`
	Errors      []crm.FieldError `json:"errors,omitempty"`
	DuplicateOf string           `json:"duplicateOf,omitempty"`
	Allowed     []string         `json:"allowed,omitempty"`
	// MergedInto names the survivor of a merged-away customer.
	MergedInto string `json:"mergedInto,omitempty"`
	// Fields names the fields whose edits stand in the way of a change.
	Fields    []string `json:"fields,omitempty"`
	RequestID string   `json:"requestId,omitempty"`
}

// retryAfterSeconds is what a 503 asks clients to wait: long enough for a
// throttled or restarting dependency to recover, short for a person.
const retryAfterSeconds = 2

// writeError answers err as problem+json. Errors that are not *crm.Error are
// bugs or dependency failures: the client gets a generic message and the log
// gets the error, which by construction holds no personal data.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := crm.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{Type: problemType(code), Status: status, Title: titleOf[status], RequestID: requestID(r.Context())}
	var e *crm.Error
	if errors.As(err, &e) && code != crm.EINTERNAL {
		if redirectMoved(w, r, e) {
			return
		}
		p.Detail, p.Errors, p.DuplicateOf, p.Allowed = e.Message, e.Fields, e.DuplicateOf, e.Allowed
		p.MergedInto, p.Fields = e.MergedInto, e.ConflictFields
	}
	if status == http.StatusServiceUnavailable {
		// A dependency is unavailable or busy: say when to come back,
		// so that clients retry later rather than at once.
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if status >= 500 {
		if p.Detail == "" {
			p.Detail = "the request could not be completed; quote the request id when reporting it"
		}
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("code", code), slog.String("error", err.Error()))
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Title == "" {
		p.Title = titleOf[p.Status]
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// problemType is the problem type URI of an error code.
func problemType(code string) string { return "https://clientele.dev/problems/" + code }

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
