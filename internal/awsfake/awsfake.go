// Package awsfake is what the in-test fakes of AWS services (kmsfake,
// snsfake) share: a loopback HTTP server, and the settings that aim a real
// SDK client at it.
package awsfake

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Server is a fake service's HTTP endpoint.
type Server struct{ srv *httptest.Server }

// Start serves h on a loopback port until Close.
func Start(h http.Handler) *Server { return &Server{srv: httptest.NewServer(h)} }

// URL returns the endpoint to point an SDK client's BaseEndpoint at.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// ClientSettings are the settings of an SDK client aimed at a fake: its
// endpoint, static dummy credentials named for the fake, and a single
// attempt per call, so failure tests see each injected failure once and
// do not sit through retry back-off.
type ClientSettings struct {
	BaseEndpoint     *string
	Credentials      aws.CredentialsProvider
	HTTPClient       *http.Client
	RetryMaxAttempts int
}

// Settings returns the client settings for the fake called name.
func (s *Server) Settings(name string) ClientSettings {
	return ClientSettings{
		BaseEndpoint: aws.String(s.URL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID" + name, SecretAccessKey: name + "-secret", Source: name}, nil
		}),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	}
}

// DropConnection closes the request's connection without a response, as
// an unreachable endpoint does mid-call.
func DropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("awsfake: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// NewID returns a random id in the UUID shape AWS uses for request and
// message ids.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
