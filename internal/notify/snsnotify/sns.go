// Package snsnotify publishes crm.Notifications to an SNS topic. It is a
// package of its own so that only the functions that publish link SNS.
package snsnotify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/clientele-crm/clientele/internal/awserr"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/notify"
)

// SNSAPI is the part of *sns.Client that SNS uses.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNS is a crm.Notifier that publishes each notification to one SNS topic.
// The message body is the notification's JSON; the kind, recipientType and
// recipientId message attributes repeat its routing fields so subscriptions
// can filter on them without parsing the body.
type SNS struct {
	api      SNSAPI
	topicARN string
}

var _ crm.Notifier = (*SNS)(nil)

// NewSNS returns a Notifier publishing to the topic topicARN through api.
func NewSNS(api SNSAPI, topicARN string) *SNS {
	return &SNS{api: api, topicARN: topicARN}
}

// New returns a Notifier publishing to topicARN with a client of cfg; it is
// an app.Function's Publisher. The client makes one attempt per call:
// notify.Retrying owns the retries, and only for failures worth retrying.
func New(cfg aws.Config, topicARN string) crm.Notifier {
	return NewSNS(sns.NewFromConfig(cfg, func(o *sns.Options) { o.RetryMaxAttempts = 1 }), topicARN)
}

// Notify publishes n. Throttling, server faults and network failures wrap
// notify.ErrUnavailable; other errors (a missing topic, a denied publish) are
// misconfiguration and are wrapped plainly.
func (s *SNS) Notify(ctx context.Context, n crm.Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.ID, err)
	}
	_, err = s.api.Publish(ctx, &sns.PublishInput{
		TopicArn:          &s.topicARN,
		Message:           aws.String(string(body)),
		MessageAttributes: attributes(n),
	})
	if err != nil {
		return classifySNS("sns publish "+n.ID, err)
	}
	return nil
}

// attributes returns n's filterable fields as String message attributes,
// leaving out empty ones because SNS rejects an attribute without a value.
func attributes(n crm.Notification) map[string]types.MessageAttributeValue {
	attrs := make(map[string]types.MessageAttributeValue, 3)
	for name, v := range map[string]string{
		"kind":          n.Kind,
		"recipientType": n.RecipientType,
		"recipientId":   n.RecipientID,
	} {
		if v != "" {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	return attrs
}

// snsUnavailableCodes are the SNS error codes that say "not now" rather than
// "never": throttling and service faults.
var snsUnavailableCodes = map[string]bool{
	"Throttling":                  true,
	"Throttled":                   true,
	"ThrottlingException":         true,
	"TooManyRequestsException":    true,
	"RequestLimitExceeded":        true,
	"KMSThrottling":               true,
	"InternalError":               true,
	"InternalFailure":             true,
	"ServiceUnavailable":          true,
	"ServiceUnavailableException": true,
	"RequestTimeout":              true,
	"RequestTimeoutException":     true,
}

// classifySNS wraps an SNS client error in notify.ErrUnavailable when retrying may
// succeed, and plainly otherwise.
func classifySNS(op string, err error) error {
	if awserr.Transient(err, snsUnavailableCodes) {
		return fmt.Errorf("%s: %w: %w", op, notify.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
