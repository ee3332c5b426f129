package notify_test

import (
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// sample is a notification with every routing field set.
func sample(id string) crm.Notification {
	return crm.Notification{ID: id, Kind: crm.NotifyComplaintAssigned, RecipientType: crm.RecipientStaff,
		RecipientID: "staff-" + id, SubjectType: "complaint", SubjectID: "complaint-" + id,
		At: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)}
}
