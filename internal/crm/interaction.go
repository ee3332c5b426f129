package crm

import (
	"slices"
	"time"
)

// Interaction kinds.
const (
	KindCall    = "call"
	KindEmail   = "email"
	KindMeeting = "meeting"
	KindNote    = "note"
)

// InteractionKinds lists the valid interaction kinds.
var InteractionKinds = []string{KindCall, KindEmail, KindMeeting, KindNote}

// Interaction is a call, email, meeting or note logged against a customer.
type Interaction struct {
	ID         string     `json:"id"`
	CustomerID string     `json:"customerId"`
	Kind       string     `json:"kind"`
	At         time.Time  `json:"at"`
	Summary    string     `json:"summary"`
	FollowUpAt *time.Time `json:"followUpAt,omitempty"`
	ActorID    string     `json:"actorId"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// InteractionInput is what a client writes to log an interaction.
type InteractionInput struct {
	Kind       string     `json:"kind"`
	At         *time.Time `json:"at"`
	Summary    string     `json:"summary"`
	FollowUpAt *time.Time `json:"followUpAt"`
}

// maxSummary bounds an interaction summary, in characters.
const maxSummary = 4000

// Validate checks an interaction input, naming every invalid field.
func (in InteractionInput) Validate() error {
	var v Invalid
	if !slices.Contains(InteractionKinds, in.Kind) {
		v.Add("kind", "enum", "must be one of call, email, meeting, note")
	}
	if in.At == nil {
		v.Add("at", "required", "is required")
	}
	switch n := len([]rune(trimSpace(in.Summary))); {
	case n == 0:
		v.Add("summary", "required", "is required")
	case n > maxSummary:
		v.Add("summary", "too_long", "must be at most 4000 characters")
	}
	if in.FollowUpAt != nil && in.At != nil && in.FollowUpAt.Before(*in.At) {
		v.Add("followUpAt", "before_at", "must not be before at")
	}
	return v.Err()
}
