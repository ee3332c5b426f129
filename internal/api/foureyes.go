package api

import (
	"context"
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The services the consent history and four-eyes routes call.
type (
	approvalLister interface {
		List(ctx context.Context, a crm.Actor, status string, p crm.Page) ([]crm.Approval, string, error)
	}
	approvalDecider interface {
		sensitiveReader
		Approve(ctx context.Context, a crm.Actor, id string) (crm.ApprovalResult, error)
		Reject(ctx context.Context, a crm.Actor, id string) (crm.Approval, error)
	}
	// approvalService is what the approve route needs: the decision and
	// the record that its answer shows a customer's sensitive fields.
	approvalService struct {
		*crm.Approvals
		sensitiveReader
	}
)

var (
	_ approvalLister  = (*crm.Approvals)(nil)
	_ approvalDecider = approvalService{}
)

// pending is the answer to a change that waits for approval.
type pending struct {
	ApprovalID string `json:"approvalId"`
	Status     string `json:"status"`
}

func writePending(w http.ResponseWriter, ap crm.Approval) {
	w.Header().Set("Location", "/approvals/"+ap.ID)
	writeJSON(w, http.StatusAccepted, pending{ApprovalID: ap.ID, Status: ap.Status})
}

func handleApprovalList(svc approvalLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "limit", "cursor", "status")
		if err != nil {
			writeError(w, r, err)
			return
		}
		page, err := q.page()
		if err != nil {
			writeError(w, r, err)
			return
		}
		status := r.URL.Query().Get("status")
		if status == "" {
			status = crm.ApprovalPending
		}
		aps, next, err := svc.List(r.Context(), actor(r.Context()), status, page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list[crm.Approval]{Items: aps, NextCursor: next})
	})
}

// handleApprovalApprove answers as the applied write would have: the
// customer, or 204 for an erasure.
func handleApprovalApprove(svc approvalDecider, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := emptyBody(r); err != nil {
			writeError(w, r, err)
			return
		}
		a := actor(r.Context())
		res, err := svc.Approve(r.Context(), a, r.PathValue("id"))
		if err == nil && !res.Erased {
			err = svc.SensitiveRead(r.Context(), a, res.Customer, "customer.read_sensitive")
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		if res.Erased {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if res.MergeID != "" {
			// A merge approved answers as the merge would have.
			w.Header().Set("ETag", etag(res.Customer.Version))
			writeJSON(w, http.StatusOK, mergeAnswer{MergeID: res.MergeID, Customer: viewCustomer(p, a.Roles, res.Customer, crm.Redact(a.Roles, res.Customer))})
			return
		}
		writeCustomer(w, r, p, http.StatusOK, res.Customer)
	})
}

func handleApprovalReject(svc approvalDecider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := emptyBody(r); err != nil {
			writeError(w, r, err)
			return
		}
		ap, err := svc.Reject(r.Context(), actor(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ap)
	})
}

// emptyBody accepts no body or an empty JSON object: a decision carries
// nothing but its route.
func emptyBody(r *http.Request) error {
	body, err := readBody(r, mediaJSON)
	if err != nil || body == nil {
		return err
	}
	var none struct{}
	return decodeStrict(body, &none)
}
