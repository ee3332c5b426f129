package api

import (
	"net/http"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// complaintReadOnly names the fields a client sees but may not write.
var complaintReadOnly = []string{"id", "status", "assigneeId", "filedBy", "createdAt", "updatedAt", "acknowledgedAt", "ackDueAt",
	"slaDueAt", "resolvedAt", "closedAt", "resolution", "escalationLevel", "version", "timeline", "breached"}

// complaintView is a complaint as the API returns it.
type complaintView struct {
	crm.Complaint
	Breached bool `json:"breached"`
}

func viewComplaint(c crm.Complaint, now time.Time) complaintView {
	return complaintView{Complaint: c, Breached: c.Breached(now)}
}

func writeComplaint(w http.ResponseWriter, d *Deps, status int, c crm.Complaint) {
	w.Header().Set("ETag", etag(c.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", "/complaints/"+c.ID)
	}
	writeJSON(w, status, viewComplaint(c, d.Now()))
}

func handleComplaintCreate(d *Deps) http.Handler {
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
		c, err := d.Complaints.File(r.Context(), actor(r.Context()), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, d, http.StatusCreated, c)
	})
}

func handleComplaintGet(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := d.Complaints.Get(r.Context(), actor(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, d, http.StatusOK, c)
	})
}

func handleComplaintList(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "limit", "cursor", "status", "assignee", "customerId", "severity", "breached")
		if err != nil {
			writeError(w, r, err)
			return
		}
		page, perr := q.page()
		breached, berr := q.boolean("breached")
		if err := joinInvalid(perr, berr); err != nil {
			writeError(w, r, err)
			return
		}
		a := actor(r.Context())
		assignee := q.Get("assignee")
		if assignee == "me" {
			assignee = a.ID
		}
		f := crm.ComplaintFilter{Status: q.Get("status"), AssigneeID: assignee, CustomerID: q.Get("customerId"), Severity: q.Get("severity"), Breached: breached}
		cs, next, err := d.Complaints.List(r.Context(), a, f, page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		now := d.Now()
		items := make([]complaintView, len(cs))
		for i, c := range cs {
			items[i] = viewComplaint(c, now)
		}
		writeJSON(w, http.StatusOK, list[complaintView]{Items: items, NextCursor: next})
	})
}

func handleComplaintTransition(d *Deps) http.Handler {
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
		c, err := d.Complaints.Transition(r.Context(), actor(r.Context()), r.PathValue("id"), ifMatch(r), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, d, http.StatusOK, c)
	})
}

func handleComplaintNote(d *Deps) http.Handler {
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
		c, err := d.Complaints.AddNote(r.Context(), actor(r.Context()), r.PathValue("id"), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, d, http.StatusCreated, c)
	})
}
