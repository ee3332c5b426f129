package snsnotify_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/notify"
	"github.com/clientele-crm/clientele/internal/notify/snsnotify"
	"github.com/clientele-crm/clientele/internal/snsfake"
)

const topicARN = "arn:aws:sns:us-east-1:123456789012:clientele-notifications"

// sample returns a notification with distinct ids in every field.
func sample(id string) crm.Notification {
	return crm.Notification{
		ID:            id,
		Kind:          crm.NotifyComplaintAssigned,
		RecipientType: crm.RecipientStaff,
		RecipientID:   "staff-" + id,
		SubjectType:   "complaint",
		SubjectID:     "complaint-" + id,
		At:            time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
	}
}

func TestSNSPublishes(t *testing.T) {
	tests := []struct {
		name      string
		n         crm.Notification
		wantAttrs map[string]string
	}{
		{"all routing attributes", sample("n-1"), map[string]string{
			"kind":          crm.NotifyComplaintAssigned,
			"recipientType": crm.RecipientStaff,
			"recipientId":   "staff-n-1",
		}},
		{"empty attribute left out", func() crm.Notification {
			n := sample("n-2")
			n.RecipientType = ""
			return n
		}(), map[string]string{
			"kind":        crm.NotifyComplaintAssigned,
			"recipientId": "staff-n-2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := snsfake.New()
			defer fake.Close()
			s := snsnotify.NewSNS(fake.Client(t), topicARN)

			if err := s.Notify(context.Background(), tt.n); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			got := fake.Published()
			if len(got) != 1 {
				t.Fatalf("published %d messages, want 1", len(got))
			}
			m := got[0]
			if m.TopicARN != topicARN {
				t.Errorf("TopicARN = %q, want %q", m.TopicARN, topicARN)
			}
			want, _ := json.Marshal(tt.n)
			if m.Message != string(want) {
				t.Errorf("Message = %s, want %s", m.Message, want)
			}
			var decoded crm.Notification
			if err := json.Unmarshal([]byte(m.Message), &decoded); err != nil || decoded != tt.n {
				t.Errorf("Message decodes to %+v (%v), want %+v", decoded, err, tt.n)
			}
			if !maps.Equal(m.Attributes, tt.wantAttrs) {
				t.Errorf("Attributes = %v, want %v", m.Attributes, tt.wantAttrs)
			}
		})
	}
}

func TestSNSErrors(t *testing.T) {
	tests := []struct {
		name            string
		fail            func(*snsfake.Server)
		wantUnavailable bool
	}{
		{"throttling is unavailable", func(s *snsfake.Server) { s.FailNext(1, "Throttling", 400) }, true},
		{"KMS throttling is unavailable", func(s *snsfake.Server) { s.FailNext(1, "KMSThrottling", 400) }, true},
		{"internal error is unavailable", func(s *snsfake.Server) { s.FailNext(1, "InternalError", 500) }, true},
		{"unknown 503 is unavailable", func(s *snsfake.Server) { s.FailNext(1, "SomethingNew", 503) }, true},
		{"dropped connection is unavailable", (*snsfake.Server).Down, true},
		{"authorization error is plain", func(s *snsfake.Server) { s.FailNext(1, "AuthorizationError", 403) }, false},
		{"missing topic is plain", func(s *snsfake.Server) { s.FailNext(1, "NotFound", 404) }, false},
		{"invalid parameter is plain", func(s *snsfake.Server) { s.FailNext(1, "InvalidParameter", 400) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := snsfake.New()
			defer fake.Close()
			s := snsnotify.NewSNS(fake.Client(t), topicARN)
			tt.fail(fake)

			n := sample("n-1")
			err := s.Notify(context.Background(), n)
			if err == nil {
				t.Fatal("Notify succeeded, want an error")
			}
			if got := errors.Is(err, notify.ErrUnavailable); got != tt.wantUnavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tt.wantUnavailable)
			}
			if !strings.Contains(err.Error(), n.ID) {
				t.Errorf("error %q does not name notification %s", err, n.ID)
			}
			if len(fake.Published()) != 0 {
				t.Error("a failed publish was recorded")
			}
		})
	}
}

func TestRetryingSNSRecoversFromThrottling(t *testing.T) {
	fake := snsfake.New()
	defer fake.Close()
	var sleeps int
	r := notify.NewRetrying(snsnotify.NewSNS(fake.Client(t), topicARN), notify.RetryOptions{
		Retryable: func(err error) bool { return errors.Is(err, notify.ErrUnavailable) },
		Sleep:     func(context.Context, time.Duration) error { sleeps++; return nil },
	})

	fake.FailNext(2, "Throttling", 0)
	if err := r.Notify(context.Background(), sample("n-1")); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if got := len(fake.Published()); got != 1 || sleeps != 2 {
		t.Errorf("published %d after %d sleeps, want 1 after 2", got, sleeps)
	}
}
