package crm

import (
	"context"
	"strings"
	"time"
)

// Bulk reassignment moves every customer of a departing rep to another, in
// the background: POST /owners/{userId}/reassign files a job, the table's
// stream consumer moves one page of customers per step, each move audited
// on the customer, and what follows a customer (complaints, reminders,
// open links) moves along through the owner re-indexing the stream already
// does for any owner change.

// Reassignment job statuses.
const (
	ReassignQueued  = "queued"
	ReassignRunning = "running"
	ReassignDone    = "done"
)

// ReassignJob is a bulk reassignment and its progress.
type ReassignJob struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Status is queued, running or done.
	Status string `json:"status"`
	// Total is how many customers From owned when the job was filed;
	// Moved how many have moved so far.
	Total       int       `json:"total"`
	Moved       int       `json:"moved"`
	RequestedBy string    `json:"requestedBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
}

// ReassignStore keeps reassignment jobs.
type ReassignStore interface {
	// StartReassign files job unless one for the same rep is still
	// queued or running (ECONFLICT), with its audit entry.
	StartReassign(ctx context.Context, job ReassignJob, a Audit) (ReassignJob, error)
	// ReassignJob returns the latest job for a rep (ENOTFOUND if none).
	ReassignJob(ctx context.Context, from string) (ReassignJob, error)
}

// BulkReassign serves the bulk reassignment routes.
type BulkReassign struct {
	Store ReassignStore
	Now   func() time.Time
}

// ReassignInput is the body of POST /owners/{userId}/reassign.
type ReassignInput struct {
	To string `json:"to"`
}

// Start files the reassignment of from's customers to in.To.
func (b *BulkReassign) Start(ctx context.Context, actor Actor, from string, in ReassignInput) (ReassignJob, error) {
	to := strings.TrimSpace(in.To)
	var v Invalid
	switch {
	case to == "":
		v.Add("to", "required", "the rep to move the customers to is required")
	case len(to) > maxOwnerID:
		v.Add("to", "too_long", "must be at most 128 characters")
	case to == from:
		v.Add("to", "same_owner", "must differ from the departing rep")
	}
	if err := v.Err(); err != nil {
		return ReassignJob{}, err
	}
	if from == "" || len(from) > maxOwnerID {
		return ReassignJob{}, Errorf(ENOTFOUND, "no such rep")
	}
	now := b.Now().UTC()
	job := ReassignJob{From: from, To: to, Status: ReassignQueued, RequestedBy: actor.ID, CreatedAt: now, UpdatedAt: now}
	return b.Store.StartReassign(ctx, job, NewAudit(ctx, actor, "owner.reassign", "owner", from, FieldOwnerID))
}

// Progress returns the latest reassignment of from's customers.
func (b *BulkReassign) Progress(ctx context.Context, from string) (ReassignJob, error) {
	return b.Store.ReassignJob(ctx, from)
}
