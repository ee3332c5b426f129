package api

import (
	"context"
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/webhooks"
)

// FnWebhooks serves the webhook routes and delivers the events.
const FnWebhooks = "webhooks"

type (
	webhookAdmin interface {
		Create(ctx context.Context, a crm.Actor, url string, events []string) (webhooks.Endpoint, error)
		List(ctx context.Context) ([]webhooks.Endpoint, error)
		Delete(ctx context.Context, id string) error
		Rotate(ctx context.Context, id string) (webhooks.Endpoint, error)
		Enable(ctx context.Context, id string) (webhooks.Endpoint, error)
	}
	deliveryLister interface {
		Deliveries(ctx context.Context, id string, p crm.Page) ([]webhooks.DeliveryView, string, error)
	}
)

var (
	_ webhookAdmin   = (*webhooks.Service)(nil)
	_ deliveryLister = (*webhooks.Service)(nil)
)

// webhookInput is the body of POST /webhooks; a missing and an empty
// events list are both refused by the service, naming the field.
type webhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func handleWebhookCreate(svc webhookAdmin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		var in webhookInput
		if err == nil {
			err = decodeStrict(body, &in)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		e, err := svc.Create(r.Context(), actor(r.Context()), in.URL, in.Events)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, e)
	})
}

func handleWebhookList(svc webhookAdmin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es, err := svc.List(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list[webhooks.Endpoint]{Items: es})
	})
}

func handleWebhookDelete(svc webhookAdmin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Delete(r.Context(), r.PathValue("id")); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleWebhookRotate(svc webhookAdmin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := svc.Rotate(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, e)
	})
}

func handleWebhookEnable(svc webhookAdmin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := svc.Enable(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, e)
	})
}

func handleWebhookDeliveries(svc deliveryLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, qerr := query(r.URL.Query(), "limit", "cursor")
		page, perr := q.page()
		if err := joinInvalid(qerr, perr); err != nil {
			writeError(w, r, err)
			return
		}
		ds, next, err := svc.Deliveries(r.Context(), r.PathValue("id"), page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list[webhooks.DeliveryView]{Items: ds, NextCursor: next})
	})
}
