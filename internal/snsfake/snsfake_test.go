package snsfake_test

import (
	"context"
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/clientele-crm/clientele/internal/snsfake"
)

const topicARN = "arn:aws:sns:us-east-1:123456789012:clientele-notifications"

func ptr(s string) *string { return &s }

func str(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: ptr("String"), StringValue: ptr(v)}
}

func publish(c *sns.Client, in *sns.PublishInput) (*sns.PublishOutput, error) {
	return c.Publish(context.Background(), in)
}

func TestPublish(t *testing.T) {
	s := snsfake.New()
	defer s.Close()
	c := s.Client(t)

	out, err := publish(c, &sns.PublishInput{
		TopicArn: ptr(topicARN),
		Message:  ptr(`{"id":"n-1"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"kind":        str("complaint_assigned"),
			"recipientId": str("staff-7"),
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got := s.Published()
	if len(got) != 1 {
		t.Fatalf("Published() has %d messages, want 1", len(got))
	}
	m := got[0]
	if out.MessageId == nil || *out.MessageId != m.MessageID || m.MessageID == "" {
		t.Errorf("MessageId = %v, want the recorded %q", out.MessageId, m.MessageID)
	}
	if m.TopicARN != topicARN {
		t.Errorf("TopicARN = %q, want %q", m.TopicARN, topicARN)
	}
	if m.Message != `{"id":"n-1"}` {
		t.Errorf("Message = %q, want the body as sent", m.Message)
	}
	wantAttrs := map[string]string{"kind": "complaint_assigned", "recipientId": "staff-7"}
	if !maps.Equal(m.Attributes, wantAttrs) {
		t.Errorf("Attributes = %v, want %v", m.Attributes, wantAttrs)
	}
}

func TestPublishRejects(t *testing.T) {
	tests := []struct {
		name     string
		in       sns.PublishInput
		wantCode string
	}{
		{"InvalidParameter without topic", sns.PublishInput{Message: ptr("x")}, "InvalidParameter"},
		{"InvalidParameter for malformed topic ARN", sns.PublishInput{TopicArn: ptr("clientele"), Message: ptr("x")}, "InvalidParameter"},
		{"InvalidParameter for empty message", sns.PublishInput{TopicArn: ptr(topicARN), Message: ptr("")}, "InvalidParameter"},
		{"ParameterValueInvalid for empty attribute", sns.PublishInput{
			TopicArn:          ptr(topicARN),
			Message:           ptr("x"),
			MessageAttributes: map[string]types.MessageAttributeValue{"kind": str("")},
		}, "ParameterValueInvalid"},
		{"ParameterValueInvalid for binary attribute", sns.PublishInput{
			TopicArn:          ptr(topicARN),
			Message:           ptr("x"),
			MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: ptr("Binary"), BinaryValue: []byte("x")}},
		}, "ParameterValueInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snsfake.New()
			defer s.Close()

			_, err := publish(s.Client(t), &tt.in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("Publish error = %v, want code %s", err, tt.wantCode)
			}
			if got := len(s.Published()); got != 0 {
				t.Errorf("Published() has %d messages, want 0", got)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		status     int
		wantStatus int
		wantFault  smithy.ErrorFault
	}{
		{"Throttling fails with 400", "Throttling", 0, 400, smithy.FaultUnknown},
		{"InternalError fails with 500 as a server fault", "InternalError", 0, 500, smithy.FaultServer},
		{"explicit status is kept", "ServiceUnavailable", 503, 503, smithy.FaultUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snsfake.New()
			defer s.Close()
			c := s.Client(t)
			in := &sns.PublishInput{TopicArn: ptr(topicARN), Message: ptr("x")}

			s.FailNext(2, tt.code, tt.status)
			for i := range 2 {
				_, err := publish(c, in)
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code || apiErr.ErrorFault() != tt.wantFault {
					t.Fatalf("call %d: error = %v, want code %s with fault %v", i+1, err, tt.code, tt.wantFault)
				}
				var respErr *awshttp.ResponseError
				if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != tt.wantStatus {
					t.Errorf("call %d: status of %v, want %d", i+1, err, tt.wantStatus)
				}
			}
			if _, err := publish(c, in); err != nil {
				t.Fatalf("third call: %v, want success once the failures are used up", err)
			}
			if got := len(s.Published()); got != 1 {
				t.Errorf("Published() has %d messages, want 1", got)
			}
		})
	}
}

func TestDownUp(t *testing.T) {
	s := snsfake.New()
	defer s.Close()
	c := s.Client(t)
	in := &sns.PublishInput{TopicArn: ptr(topicARN), Message: ptr("x")}

	s.Down()
	_, err := publish(c, in)
	var sendErr *smithyhttp.RequestSendError
	if !errors.As(err, &sendErr) {
		t.Fatalf("Publish while down = %v, want a request send error", err)
	}
	s.Up()
	if _, err := publish(c, in); err != nil {
		t.Fatalf("Publish after Up: %v", err)
	}
}

func TestWireProtocol(t *testing.T) {
	s := snsfake.New()
	defer s.Close()

	t.Run("unsigned request is rejected with an XML error", func(t *testing.T) {
		form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {topicARN}, "Message": {"x"}}
		resp, err := http.Post(s.URL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Type      string `xml:"Error>Type"`
			Code      string `xml:"Error>Code"`
			RequestID string `xml:"RequestId"`
		}
		if err := xml.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("decode error body: %v", err)
		}
		if resp.StatusCode != http.StatusForbidden || body.Type != "Sender" || body.Code != "MissingAuthenticationToken" || body.RequestID == "" {
			t.Errorf("got %d %+v, want 403 Sender MissingAuthenticationToken with a request id", resp.StatusCode, body)
		}
		if len(s.Published()) != 0 {
			t.Error("unsigned request was published")
		}
	})
}
