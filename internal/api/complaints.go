package api

import (
	"net/http"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// complaintReadOnly names the fields a client sees but may not write.
var complaintReadOnly = []string{"id", "status", "assigneeId", "filedBy", "createdAt", "updatedAt", "acknowledgedAt", "ackDueAt",
	"slaDueAt", "resolvedAt", "closedAt", "resolution", "escalationLevel", "version", "timeline", "breached", "contact"}

// complaintView is a complaint as the API returns it.
type complaintView struct {
	crm.Complaint
	Breached bool `json:"breached"`
}

func viewComplaint(c crm.Complaint, now time.Time) complaintView {
	return complaintView{Complaint: c, Breached: c.Breached(now)}
}

func writeComplaint(w http.ResponseWriter, now func() time.Time, status int, c crm.Complaint) {
	w.Header().Set("ETag", etag(c.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", "/complaints/"+c.ID)
	}
	writeJSON(w, status, viewComplaint(c, now()))
}

func handleComplaintCreate(svc complaintFiler, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.ComplaintInput
		if err := decodeStrict(body, &in, complaintReadOnly...); err != nil {
			writeError(w, r, err)
			return
		}
		a := actor(r.Context())
		c, err := svc.File(r.Context(), a, in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if a.Client {
			w.Header().Set("Location", "/complaints/"+c.ID)
			writeJSON(w, http.StatusCreated, receipt(c, now()))
			return
		}
		writeComplaint(w, now, http.StatusCreated, c)
	})
}

func handleComplaintGet(svc complaintReader, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := actor(r.Context())
		c, err := svc.Get(r.Context(), a, r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		if a.Client {
			writeJSON(w, http.StatusOK, receipt(c, now()))
			return
		}
		writeComplaint(w, now, http.StatusOK, c)
	})
}

func handleComplaintList(svc complaintLister, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "limit", "cursor", "status", "assignee", "customerId", "severity", "breached", "unlinked")
		if err != nil {
			writeError(w, r, err)
			return
		}
		page, perr := q.page()
		breached, berr := q.boolean("breached")
		unlinked, uerr := q.boolean("unlinked")
		if err := joinInvalid(perr, berr, uerr); err != nil {
			writeError(w, r, err)
			return
		}
		a := actor(r.Context())
		if unlinked && (a.Client || !a.HasAny(crm.RoleAdmin, crm.RoleService)) {
			// The triage list shows the contacts of complaints nobody
			// owns yet: for the agents who link them.
			writeError(w, r, crm.Errorf(crm.EFORBIDDEN, "only admin and service see unlinked complaints"))
			return
		}
		assignee := q.Get("assignee")
		if assignee == "me" {
			assignee = a.ID
		}
		f := crm.ComplaintFilter{Status: q.Get("status"), AssigneeID: assignee, CustomerID: q.Get("customerId"), Severity: q.Get("severity"), Breached: breached, Unlinked: unlinked}
		cs, next, err := svc.List(r.Context(), a, f, page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		now := now()
		if a.Client {
			receipts := make([]complaintReceipt, len(cs))
			for i, c := range cs {
				receipts[i] = receipt(c, now)
			}
			writeJSON(w, http.StatusOK, list[complaintReceipt]{Items: receipts, NextCursor: next})
			return
		}
		items := make([]complaintView, len(cs))
		for i, c := range cs {
			items[i] = viewComplaint(c, now)
		}
		writeJSON(w, http.StatusOK, list[complaintView]{Items: items, NextCursor: next})
	})
}

func handleComplaintTransition(svc complaintTransitioner, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.TransitionInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		c, err := svc.Transition(r.Context(), actor(r.Context()), r.PathValue("id"), ifMatch(r), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, now, http.StatusOK, c)
	})
}

func handleComplaintNote(svc complaintNoter, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.NoteInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		c, err := svc.AddNote(r.Context(), actor(r.Context()), r.PathValue("id"), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, now, http.StatusCreated, c)
	})
}
