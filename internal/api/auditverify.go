package api

import (
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

func handleAuditVerification(svc crm.AuditVerifications) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := query(r.URL.Query()); err != nil {
			writeError(w, r, err)
			return
		}
		v, err := svc.LatestVerification(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}
