package console_test

import (
	"context"
	"testing"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/streams"
)

// streamDelivery hands the table's stream to the consumer, as the reports
// function does on AWS, so that what is derived from it (likely
// duplicates) is there for the console to show.
type streamDelivery struct {
	poller *streams.Poller
}

func newStreamDelivery(t *testing.T, s *site) *streamDelivery {
	t.Helper()
	arn, err := streams.StreamARN(context.Background(), s.e.DB, s.e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	return &streamDelivery{poller: streams.New(s.e.StreamsClient(), arn, app.StreamHandler(s.e.Services, nil), streams.Options{})}
}

// settle delivers every new record, then the records that delivery wrote,
// until the stream is quiet.
func (d *streamDelivery) settle(t *testing.T) {
	t.Helper()
	for range 10 {
		n, err := d.poller.Drain(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the stream did not settle")
}
