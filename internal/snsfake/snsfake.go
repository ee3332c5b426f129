// Package snsfake is an in-process fake of Amazon SNS for tests. It speaks
// SNS's real wire protocol (the AWS Query protocol: form-encoded POST in, XML
// out), so the code under test runs through the real SDK client: request
// signing, serialization, error decoding and retries included. It implements
// Publish to a topic; every well-formed topic ARN names an existing topic.
package snsfake

import (
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/clientele-crm/clientele/internal/awsfake"
)

// Region is the region Client signs for; the fake checks the signature's
// credential scope names it and the sns service.
const Region = "us-east-1"

const (
	apiVersion = "2010-03-31"
	xmlns      = "http://sns.amazonaws.com/doc/2010-03-31/"

	// SNS's documented limits: 256 KiB per message, 10 attributes.
	maxMessageBytes = 256 * 1024
	maxAttributes   = 10
)

// Message is one message the fake accepted.
type Message struct {
	MessageID string
	TopicARN  string
	Message   string // the body as sent
	// Attributes maps each message attribute's name to its StringValue.
	Attributes map[string]string
}

// Server is a fake SNS listening on a local httptest.Server. It is safe for
// concurrent use.
type Server struct {
	*awsfake.Server

	mu         sync.Mutex
	published  []Message
	failN      int
	failCode   string
	failStatus int
	down       bool
}

// New starts a fake SNS. Close it when done.
func New() *Server {
	s := &Server{}
	s.Server = awsfake.Start(http.HandlerFunc(s.serve))
	return s
}

// Client returns a real SNS SDK client aimed at s, with static dummy
// credentials, region us-east-1 and a single attempt per call, so failure
// tests see each injected failure once and do not sit through retry back-off.
func (s *Server) Client(t testing.TB) *sns.Client {
	t.Helper()
	c := s.Settings("snsfake")
	return sns.New(sns.Options{Region: Region, BaseEndpoint: c.BaseEndpoint, Credentials: c.Credentials,
		HTTPClient: c.HTTPClient, RetryMaxAttempts: c.RetryMaxAttempts})
}

// Published returns the messages accepted so far, oldest first.
func (s *Server) Published() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.published))
	for i, m := range s.published {
		m.Attributes = maps.Clone(m.Attributes)
		out[i] = m
	}
	return out
}

// FailNext makes the next n Publish calls fail with the error code (for
// example "Throttling" or "InternalError") and HTTP status. A status of 0
// means 500 for InternalError and 400 for anything else, as SNS answers.
func (s *Server) FailNext(n int, code string, status int) {
	if status == 0 {
		status = http.StatusBadRequest
		if code == "InternalError" {
			status = http.StatusInternalServerError
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode, s.failStatus = n, code, status
}

// Down makes every later call have its connection closed without a response,
// as a network outage would, until Up.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
}

// Up ends Down and cancels any failures FailNext still has pending.
func (s *Server) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down, s.failN, s.failCode, s.failStatus = false, 0, "", 0
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		awsfake.DropConnection(w)
		return
	}

	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, http.StatusNotFound, "InvalidAction", "only POST / is served")
		return
	}
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); ct != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusBadRequest, "MalformedQueryString", "unexpected content type")
		return
	}
	if !signedForSNS(r.Header.Get("Authorization")) {
		writeError(w, http.StatusForbidden, "MissingAuthenticationToken", "request is not signed for sns in "+Region)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "MalformedQueryString", "malformed request body")
		return
	}
	if form.Get("Action") != "Publish" {
		writeError(w, http.StatusBadRequest, "InvalidAction", "snsfake implements only Publish")
		return
	}
	if form.Get("Version") != apiVersion {
		writeError(w, http.StatusBadRequest, "InvalidParameterValue", "unsupported Version")
		return
	}

	s.mu.Lock()
	failing := s.failN > 0
	failCode, failStatus := s.failCode, s.failStatus
	if failing {
		s.failN--
	}
	s.mu.Unlock()
	if failing {
		writeError(w, failStatus, failCode, "snsfake: injected failure")
		return
	}

	m, code, msg := parsePublish(form)
	if code != "" {
		writeError(w, http.StatusBadRequest, code, msg)
		return
	}
	m.MessageID = awsfake.NewID()
	s.mu.Lock()
	s.published = append(s.published, m)
	s.mu.Unlock()

	reqID := awsfake.NewID()
	writeXML(w, http.StatusOK, reqID, publishResponse{Xmlns: xmlns, MessageID: m.MessageID, RequestID: reqID})
}

// parsePublish reads a Publish request's members, or returns the error code
// and message SNS would answer a malformed one with.
func parsePublish(form url.Values) (m Message, code, msg string) {
	m.TopicARN = form.Get("TopicArn")
	if m.TopicARN == "" {
		return m, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
	}
	if !isTopicARN(m.TopicARN) {
		return m, "InvalidParameter", "Invalid parameter: TopicArn"
	}
	m.Message = form.Get("Message")
	switch {
	case m.Message == "":
		return m, "InvalidParameter", "Invalid parameter: Empty message"
	case len(m.Message) > maxMessageBytes:
		return m, "InvalidParameter", "Invalid parameter: Message too long"
	}

	for i := 1; ; i++ {
		prefix := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		name := form.Get(prefix + "Name")
		if name == "" {
			break
		}
		if i > maxAttributes {
			return m, "InvalidParameter", "Invalid parameter: MessageAttributes: too many attributes"
		}
		dataType := form.Get(prefix + "Value.DataType")
		value := form.Get(prefix + "Value.StringValue")
		switch {
		case dataType == "":
			return m, "ParameterValueInvalid", "The message attribute '" + name + "' must contain non-empty message attribute type."
		case dataType != "String" && dataType != "Number" && !strings.HasPrefix(dataType, "String.") && !strings.HasPrefix(dataType, "Number."):
			return m, "ParameterValueInvalid", "The message attribute '" + name + "' has an invalid message attribute type, the set of supported type prefixes is String and Number."
		case value == "":
			return m, "ParameterValueInvalid", "The message attribute '" + name + "' must contain non-empty message attribute value for message attribute type '" + dataType + "'."
		}
		if _, dup := m.Attributes[name]; dup {
			return m, "ParameterValueInvalid", "The message attribute '" + name + "' appears more than once."
		}
		if m.Attributes == nil {
			m.Attributes = make(map[string]string)
		}
		m.Attributes[name] = value
	}
	return m, "", ""
}

// isTopicARN reports whether arn has the shape
// arn:<partition>:sns:<region>:<account>:<topic>.
func isTopicARN(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] == "sns" &&
		parts[3] != "" && parts[4] != "" && parts[5] != ""
}

// signedForSNS reports whether an Authorization header is a SigV4 signature
// scoped to the sns service in Region. The signature itself is not checked.
func signedForSNS(auth string) bool {
	return strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") &&
		strings.Contains(auth, "/"+Region+"/sns/aws4_request")
}

type publishResponse struct {
	XMLName   xml.Name `xml:"PublishResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	MessageID string   `xml:"PublishResult>MessageId"`
	RequestID string   `xml:"ResponseMetadata>RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	reqID := awsfake.NewID()
	writeXML(w, status, reqID, errorResponse{Xmlns: xmlns, Type: typ, Code: code, Message: message, RequestID: reqID})
}

// writeXML writes v with the request id in the header too, as SNS does.
func writeXML(w http.ResponseWriter, status int, reqID string, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		// Only our own fixed structs are marshalled, so this is a bug here.
		panic("snsfake: " + err.Error())
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}
