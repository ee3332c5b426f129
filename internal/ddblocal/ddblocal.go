// Package ddblocal installs and runs AWS DynamoDB Local for Clientele's tests
// and local runtime.
//
// DynamoDB Local (a Java program) is taken from the npm package
// amplify-dynamodb-simulator, which ships the official DynamoDBLocal.jar and
// DynamoDBLocal_lib/. Install fetches it with `npm pack`, checks the
// tarball's pinned sha256 and unpacks its emulator/ directory into a cache
// directory; Start runs it in memory on a free loopback port.
//
// Packages that need a database in their tests call TestEndpoint from
// TestMain:
//
//	func TestMain(m *testing.M) {
//		endpoint, stop, err := ddblocal.TestEndpoint()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		testEndpoint = endpoint
//		code := m.Run()
//		stop()
//		os.Exit(code)
//	}
package ddblocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

const (
	// EnvEndpoint names an externally run DynamoDB (Local) endpoint that
	// TestEndpoint uses instead of starting one.
	EnvEndpoint = "DYNAMODB_ENDPOINT"
	// EnvCache overrides DefaultCacheDir.
	EnvCache = "CLIENTELE_CACHE"

	// DefaultRegion is the region of clients made by Client unless
	// AWS_REGION is set.
	DefaultRegion = "us-east-1"

	// DynamoDB Local keys its data by access key and region unless run with
	// -sharedDb (which Start does); these are the dummy credentials Client
	// signs with.
	localAccessKey = "local"
	localSecretKey = "local"

	// readyTimeout bounds how long Start (and Wait, given a context without
	// deadline) waits for the server to answer ListTables.
	readyTimeout = 60 * time.Second
)

// DefaultCacheDir is $CLIENTELE_CACHE if set, else os.UserCacheDir()/clientele.
func DefaultCacheDir() (string, error) {
	if dir := os.Getenv(EnvCache); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("ddblocal: no cache directory (set %s): %w", EnvCache, err)
	}
	return filepath.Join(base, "clientele"), nil
}

// Client returns a DynamoDB client for a local endpoint such as
// "http://127.0.0.1:8000". It signs with static dummy credentials and uses
// region AWS_REGION, or us-east-1 if that is unset. The client is built
// without the shared AWS config and credentials files, so a developer's
// AWS_PROFILE can neither break it nor point it at a real account. ctx is
// accepted for symmetry with config.LoadDefaultConfig and is not used.
func Client(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	_ = ctx
	if endpoint == "" {
		return nil, errors.New("ddblocal: empty endpoint")
	}
	return newClient(endpoint), nil
}

func newClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = DefaultRegion
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(localAccessKey, localSecretKey, "")),
	}
	optFns = append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)
	return dynamodb.NewFromConfig(cfg, optFns...)
}

// Wait polls endpoint with ListTables until it answers, ctx is done, or — if
// ctx has no deadline — 60 seconds have passed.
func Wait(ctx context.Context, endpoint string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	return waitReady(ctx, endpoint, nil)
}

// waitReady polls ListTables until it succeeds. It gives up early, returning
// the error sent, if failed yields one (Start uses this to notice a JVM that
// failed to start).
func waitReady(parent context.Context, endpoint string, failed <-chan error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if failed != nil {
		go func() {
			select {
			case err := <-failed:
				cancel(err)
			case <-ctx.Done():
			}
		}()
	}
	client := newClient(endpoint, func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 1
	})
	var lastErr error
	delay := 50 * time.Millisecond
	for {
		callCtx, cancelCall := context.WithTimeout(ctx, 5*time.Second)
		_, err := client.ListTables(callCtx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		cancelCall()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			if parent.Err() == nil {
				return context.Cause(ctx) // failed said so
			}
			return fmt.Errorf("ddblocal: %s not answering ListTables: %w (last error: %v)", endpoint, parent.Err(), lastErr)
		case <-time.After(delay):
		}
		if delay < 250*time.Millisecond {
			delay += 50 * time.Millisecond
		}
	}
}

// Use returns endpoint when it is set, once it answers; otherwise it
// starts a DynamoDB Local from the default cache, saying so on stderr, and
// stop shuts it down. It is what every command that needs a database does.
func Use(ctx context.Context, endpoint string, stderr io.Writer) (_ string, stop func(), err error) {
	if endpoint != "" {
		return endpoint, func() {}, Wait(ctx, endpoint)
	}
	cache, err := DefaultCacheDir()
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintln(stderr, "starting DynamoDB Local…")
	inst, err := Start(ctx, cache, io.Discard)
	if err != nil {
		return "", nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	return inst.Endpoint, func() { _ = inst.Stop() }, nil
}

// TestEndpoint gives tests of other packages a DynamoDB endpoint. If
// $DYNAMODB_ENDPOINT is set it waits for that endpoint to answer and returns
// it with a no-op stop; otherwise it installs (on first use, via npm, into
// DefaultCacheDir) and starts a private in-memory DynamoDB Local, returning
// its endpoint and a stop function that shuts it down. Progress and the
// server's output go to os.Stderr. Call it from TestMain and call stop after
// m.Run.
func TestEndpoint() (endpoint string, stop func(), err error) {
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		if err := Wait(context.Background(), ep); err != nil {
			return "", nil, err
		}
		return ep, func() {}, nil
	}
	cacheDir, err := DefaultCacheDir()
	if err != nil {
		return "", nil, err
	}
	// Generous: the first run downloads ~57 MB through npm.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	inst, err := Start(ctx, cacheDir, os.Stderr)
	if err != nil {
		return "", nil, err
	}
	return inst.Endpoint, func() {
		if err := inst.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}, nil
}

// logWriter returns w, or io.Discard if w is nil.
func logWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
