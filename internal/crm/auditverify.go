package crm

import (
	"context"
	"time"
)

// Audit verification outcomes.
const (
	VerifyIntact = "intact"
	VerifyBroken = "broken"
	VerifyNever  = "never"
)

// AuditVerification is the outcome of one walk of the audit trail: when it
// ran, what it covered, and the first break it found. Breaks name a chain by
// its entity id and an entry by its position, never a value.
type AuditVerification struct {
	Status     string    `json:"status"`
	At         time.Time `json:"at,omitzero"`
	Entries    int       `json:"entries"`
	Chains     int       `json:"chains"`
	Digests    int       `json:"digests"`
	Unsigned   int       `json:"unsigned"`
	Breaks     int       `json:"breaks"`
	FirstBreak string    `json:"firstBreak,omitempty"`
}

// AuditVerifications keeps the outcome of every verification of the audit
// trail.
type AuditVerifications interface {
	// RecordVerification keeps v beside the earlier ones.
	RecordVerification(ctx context.Context, v AuditVerification) error
	// LatestVerification returns the most recent outcome, with status
	// VerifyNever when the trail was never verified.
	LatestVerification(ctx context.Context) (AuditVerification, error)
}
