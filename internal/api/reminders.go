package api

import (
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

func handleReminderList(svc reminderLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, qerr := query(r.URL.Query(), "limit", "cursor", "assignee", "kind", "status")
		page, perr := q.page()
		f := crm.ReminderFilter{AssigneeID: q.Get("assignee"), Kind: q.Get("kind"), Status: q.Get("status")}
		if err := joinInvalid(qerr, perr, f.Validate()); err != nil {
			writeError(w, r, err)
			return
		}
		rs, next, err := svc.List(r.Context(), actor(r.Context()), f, page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list[crm.Reminder]{Items: rs, NextCursor: next})
	})
}

func handleReminderDone(svc reminderCompleter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No body is needed; one that is sent must be an empty object.
		body, err := readBody(r, mediaJSON)
		if err == nil && body != nil {
			err = decodeStrict(body, &struct{}{})
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		rem, err := svc.Done(r.Context(), actor(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rem)
	})
}
