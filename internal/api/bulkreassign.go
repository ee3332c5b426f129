package api

import (
	"context"
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

type bulkReassigner interface {
	Start(ctx context.Context, a crm.Actor, from string, in crm.ReassignInput) (crm.ReassignJob, error)
	Progress(ctx context.Context, from string) (crm.ReassignJob, error)
}

var _ bulkReassigner = (*crm.BulkReassign)(nil)

// handleReassignStart files a bulk reassignment and answers 202 with its
// progress; the table's stream consumer does the moving.
func handleReassignStart(svc bulkReassigner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := query(r.URL.Query()); err != nil {
			writeError(w, r, err)
			return
		}
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.ReassignInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		job, err := svc.Start(r.Context(), actor(r.Context()), r.PathValue("userId"), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/owners/"+job.From+"/reassign")
		writeJSON(w, http.StatusAccepted, job)
	})
}

func handleReassignProgress(svc bulkReassigner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := query(r.URL.Query()); err != nil {
			writeError(w, r, err)
			return
		}
		job, err := svc.Progress(r.Context(), r.PathValue("userId"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, job)
	})
}
