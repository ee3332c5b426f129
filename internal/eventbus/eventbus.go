// Package eventbus publishes the domain events on AWS: to the EventBridge
// bus that other teams' rules subscribe to, and to the queue the webhooks
// function delivers from. It is its own package so that only the function
// that derives events from the stream links EventBridge and SQS.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	domain "github.com/clientele-crm/clientele/internal/events"
)

// New returns a publisher that puts every event on the bus named bus and
// sends it to the webhooks queue at queueURL; either may be "". SQS
// de-duplicates nothing on a standard queue: the webhooks fan-out does, by
// event id, so a message sent twice makes one delivery per endpoint.
func New(awsCfg aws.Config, bus, queueURL string) func(ctx context.Context, evs []domain.Event) error {
	eb, q := eventbridge.NewFromConfig(awsCfg), sqs.NewFromConfig(awsCfg)
	return func(ctx context.Context, evs []domain.Event) error {
		entries := make([]ebtypes.PutEventsRequestEntry, 0, len(evs))
		for _, ev := range evs {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus),
				Source: aws.String(domain.Source), DetailType: aws.String(ev.Type), Detail: aws.String(string(b)),
				Time: aws.Time(ev.At), Resources: []string{}})
			if queueURL != "" {
				if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(string(b))}); err != nil {
					return fmt.Errorf("queue event: %w", err)
				}
			}
		}
		if bus == "" {
			return nil
		}
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put events: %w", err)
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("put events: %d of %d failed", out.FailedEntryCount, len(entries))
		}
		return nil
	}
}
