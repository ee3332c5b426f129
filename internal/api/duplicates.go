package api

import (
	"context"
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

type duplicateLister interface {
	List(ctx context.Context, a crm.Actor) ([]crm.LikelyDuplicate, error)
}

var _ duplicateLister = (*crm.Duplicates)(nil)

// handleDuplicateList answers GET /customers/duplicates from the pairs the
// stream keeps: nothing is compared at request time.
func handleDuplicateList(svc duplicateLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := query(r.URL.Query()); err != nil {
			writeError(w, r, err)
			return
		}
		items, err := svc.List(r.Context(), actor(r.Context()))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	})
}
