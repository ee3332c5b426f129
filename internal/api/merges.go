package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The services the merge routes call.
type (
	customerMerger interface {
		Merge(ctx context.Context, a crm.Actor, intoID string, in crm.MergeInput) (crm.MergeResult, *crm.Approval, error)
		Undo(ctx context.Context, a crm.Actor, mergeID string) (crm.MergeResult, error)
	}
	// mergeService is what the merge routes need: the merge and the
	// record that its answer shows the survivor's sensitive fields.
	mergeService struct {
		*crm.Merges
		sensitiveReader
	}
)

var _ customerMerger = (*crm.Merges)(nil)

// mergeAnswer is the answer to a merge, its undo and its approval.
type mergeAnswer struct {
	MergeID  string `json:"mergeId"`
	Customer any    `json:"customer"`
}

func writeMerge(w http.ResponseWriter, r *http.Request, svc sensitiveReader, p crm.Policy, res crm.MergeResult) {
	a := actor(r.Context())
	// On record before it is shown, or not shown at all.
	if err := svc.SensitiveRead(r.Context(), a, res.Customer, "customer.read_sensitive"); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(res.Customer.Version))
	writeJSON(w, http.StatusOK, mergeAnswer{MergeID: res.MergeID, Customer: viewCustomer(p, a.Roles, res.Customer, crm.Redact(a.Roles, res.Customer))})
}

func handleCustomerMerge(svc mergeService, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.MergeInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		res, ap, err := svc.Merge(r.Context(), actor(r.Context()), r.PathValue("id"), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if ap != nil {
			writePending(w, *ap)
			return
		}
		writeMerge(w, r, svc, p, res)
	})
}

func handleMergeUndo(svc mergeService, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := emptyBody(r); err != nil {
			writeError(w, r, err)
			return
		}
		res, err := svc.Undo(r.Context(), actor(r.Context()), r.PathValue("mergeId"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeMerge(w, r, svc, p, res)
	})
}

// redirectMoved answers a read of a merged-away customer: 308 to the same
// path of the survivor. It reports false for anything else.
func redirectMoved(w http.ResponseWriter, r *http.Request, e *crm.Error) bool {
	if e == nil || e.Code != crm.EMOVED || e.MergedInto == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	id := r.PathValue("id")
	prefix := "/customers/" + id
	if id == "" || !strings.HasPrefix(r.URL.Path, prefix) {
		return false
	}
	loc := "/customers/" + e.MergedInto + strings.TrimPrefix(r.URL.Path, prefix)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	writeProblem(w, Problem{Type: problemType(crm.EMOVED), Status: http.StatusPermanentRedirect, Title: "Merged into another customer",
		Detail: e.Message, MergedInto: e.MergedInto, RequestID: requestID(r.Context())})
	return true
}
