package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServerTimeouts holds the local server to each timeout with a client
// that misbehaves in the matching way: it must lose the connection within
// the bound instead of keeping it for as long as it likes.
func TestServerTimeouts(t *testing.T) {
	const huge = 64 << 20
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/huge" {
			chunk := make([]byte, 1<<20)
			for range huge / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	short := serverTimeouts{header: 200 * time.Millisecond, read: 300 * time.Millisecond, write: 300 * time.Millisecond, idle: 300 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := localServer(h, short)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// closedWithin reports whether the server ends conn within d: a read
	// that returns (EOF, a reset or an answer followed by EOF) rather
	// than hitting the client's own deadline.
	closedWithin := func(t *testing.T, conn net.Conn, d time.Duration) {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(d))
		_, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server still held the connection after %s", d)
		}
	}
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	t.Run("BodyTrickledForever", func(t *testing.T) {
		conn := dial(t)
		_, _ = io.WriteString(conn, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nsome")
		closedWithin(t, conn, 3*time.Second)
	})
	t.Run("IdleKeepAlive", func(t *testing.T) {
		conn := dial(t)
		_, _ = io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("first request: %v", err)
		}
		resp.Body.Close()
		closedWithin(t, conn, 3*time.Second)
	})
	t.Run("AnswerNeverRead", func(t *testing.T) {
		conn := dial(t)
		_, _ = io.WriteString(conn, "GET /huge HTTP/1.1\r\nHost: a\r\n\r\n")
		// A client that stops reading: past the write timeout the server
		// gives up on the answer instead of waiting on it.
		time.Sleep(time.Second)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(conn)
		if len(got) >= huge {
			t.Fatalf("the server waited for a client that did not read (%d bytes delivered)", len(got))
		}
	})
	t.Run("HeadersNeverFinished", func(t *testing.T) {
		conn := dial(t)
		_, _ = io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: a\r\n"+strings.Repeat("X-A: b\r\n", 3))
		closedWithin(t, conn, 3*time.Second)
	})
	if defaultTimeouts.read == 0 || defaultTimeouts.write == 0 || defaultTimeouts.idle == 0 || defaultTimeouts.header == 0 {
		t.Errorf("a default timeout is unset: %+v", defaultTimeouts)
	}
}
