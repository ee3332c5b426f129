// Package importqueue sends background import tasks to an SQS queue. It is
// a package of its own so that only the functions that queue imports link
// SQS.
package importqueue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/clientele-crm/clientele/internal/awserr"
	"github.com/clientele-crm/clientele/internal/crm"
)

// SQSAPI is the part of *sqs.Client that Queue uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue is a crm.ImportQueue on one SQS queue. A message is a task's JSON:
// ids and a chunk number, never a row.
type Queue struct {
	api SQSAPI
	url string
}

var _ crm.ImportQueue = (*Queue)(nil)

// NewQueue returns a Queue sending to the queue at url through api.
func NewQueue(api SQSAPI, url string) *Queue { return &Queue{api: api, url: url} }

// New returns a Queue with a client of cfg; it is an app.Function's
// ImportQueue.
func New(cfg aws.Config, url string) crm.ImportQueue {
	// The operation, not the client: see dynamo.Client.
	return NewQueue(sqsOps(sqs.NewFromConfig(cfg).SendMessage), url)
}

// sqsOps is an SQSAPI of one operation.
type sqsOps func(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)

func (f sqsOps) SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return f(ctx, in, optFns...)
}

// Enqueue sends t. Throttling, service faults and network failures are
// EUNAVAILABLE.
func (q *Queue) Enqueue(ctx context.Context, t crm.ImportTask) error {
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode import task: %w", err)
	}
	_, err = q.api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: aws.String(string(body))})
	if err == nil {
		return nil
	}
	if awserr.Transient(err, nil) {
		return &crm.Error{Code: crm.EUNAVAILABLE, Message: "the import queue is unavailable; retry shortly"}
	}
	return fmt.Errorf("send import task: %w", err)
}
