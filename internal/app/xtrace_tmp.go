package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var xstart = time.Now()

type xclient struct{ c dynamodb.HTTPClient }

func (x xclient) Do(r *http.Request) (*http.Response, error) {
	t := time.Now()
	res, err := x.c.Do(r)
	fmt.Fprintf(os.Stderr, "XT %s %.2f +%.2f\n", r.Header.Get("X-Amz-Target"), ms(t.Sub(xstart)), ms(time.Since(t)))
	return res, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func xwrap(h any) any {
	f, ok := h.(func(context.Context, []byte) ([]byte, error))
	_ = f
	_ = ok
	return h
}
