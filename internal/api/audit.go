package api

import (
	"net/http"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

func handleAuditList(svc auditLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "limit", "cursor", "entityId", "actor", "from", "to")
		if err != nil {
			writeError(w, r, err)
			return
		}
		page, perr := q.page()
		from, ferr := q.instant("from")
		to, terr := q.instant("to")
		if err := joinInvalid(perr, ferr, terr); err != nil {
			writeError(w, r, err)
			return
		}
		f := crm.AuditFilter{EntityID: q.Get("entityId"), Actor: q.Get("actor"), From: from, To: to}
		es, next, err := svc.ListAudit(r.Context(), f, page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list[crm.AuditEntry]{Items: es, NextCursor: next})
	})
}

// instant reads an RFC 3339 query parameter, or a date (its midnight UTC);
// absent is the zero time.
func (q params) instant(name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, v); err != nil {
			return time.Time{}, crm.Invalid{{Field: name, Code: "type", Message: "must be an RFC 3339 timestamp or a date such as 2026-11-22"}}.Err()
		}
	}
	return t.UTC(), nil
}
