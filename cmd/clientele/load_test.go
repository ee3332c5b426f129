package main

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestPausedDatabase pauses a DynamoDB Local of its own (SIGSTOP) under
// concurrent writers: every request answers — success, the 4xx it
// deserves, or 503 with Retry-After — none hangs, no write is half done
// (each customer's version matches its audit chain), none acknowledged is
// lost, and the gateway serves again once the database is back.
func TestPausedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts DynamoDB Local")
	}
	ctx := context.Background()
	// A short function timeout keeps the test short: requests caught by
	// the pause give up after about three seconds.
	e, err := startEnv(ctx, envOptions{env: map[string]string{"FUNCTION_TIMEOUT": "4s"}}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	e.http.Timeout = 20 * time.Second
	admin := e.token("load-admin", "admin")
	seed := "seed@example.com"
	e.call(ctx, "POST", "/customers", admin, map[string]any{"name": "Seed Customer", "email": seed}, 0)
	r := newRecorder()
	resumed, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(resumed)
		// Mid-run: once the writers have done a good part of their work.
		for n := 0; n < 150; time.Sleep(10 * time.Millisecond) {
			select {
			case <-finished:
				return
			default:
			}
			r.mu.Lock()
			n = len(r.lat)
			r.mu.Unlock()
		}
		e.inst.Pause()
		time.Sleep(4 * time.Second)
		e.inst.Resume()
	}()
	writers := independentRun(ctx, e, r, 0, 8, 1, 60, seed)
	close(finished)
	<-resumed
	checkWriters(ctx, e, r, writers)
	t.Logf("statuses: %s", r.statuses())
	if r.noRetry > 0 {
		t.Errorf("%d 503s without Retry-After", r.noRetry)
	}
	if r.status[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no request met the pause: %s", r.statuses())
	}
	// Every answer but a 503 is the one the request deserved, given what
	// its writer knew: a write whose outcome the pause made unknown can
	// leave the writer's next If-Match stale, so 412 may follow it.
	if r.unexpected > 0 {
		t.Errorf("answers other than the deserved ones: %s", r.unexpectedText())
	}
	for code, n := range r.status {
		switch code {
		case http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d answers %d (0: none)", n, code)
		}
	}
	// A write the deadline cut off while the database held it may commit
	// when the database resumes (refusedApplied, logged): a 503's outcome
	// is unknown, which clients resolve by reading again (If-Match) or
	// retrying with their Idempotency-Key. What must hold is that every
	// write is whole and none acknowledged is lost.
	t.Logf("writes answered 503 that committed on resume: %d", r.refusedApplied)
	if r.lost > 0 {
		t.Errorf("%d acknowledged writes lost", r.lost)
	}
	for _, w := range writers {
		if w == nil || w.id == "" {
			continue
		}
		out, err := e.db.Query(ctx, &dynamodb.QueryInput{TableName: &e.cfg.AuditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :e)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: "CHAIN#customer/" + w.id}, ":e": &types.AttributeValueMemberS{Value: "E#"},
			}, Select: types.SelectCount, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		stored := e.call(ctx, "GET", "/customers/"+w.id, admin, nil, 0)
		// The GET above is an audited read in a chain of its own; the
		// customer's chain holds its writes only: one entry per version.
		if int(out.Count) != stored.version {
			t.Errorf("a customer at version %d has %d audit entries", stored.version, out.Count)
		}
	}
	if rep := e.call(ctx, "GET", "/customers?limit=1", admin, nil, 0); rep.status != http.StatusOK {
		t.Errorf("after the pause: %d", rep.status)
	}
}
