package ddblocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// javaHeap is the JVM's -Xmx. A benchmark run creates and drops many tables
// and a small heap makes DynamoDB Local spend its time collecting garbage;
// the JVM only takes what it uses, so several instances still fit at once.
const javaHeap = "-Xmx2g"

// stopGrace is how long Stop waits after SIGTERM before sending SIGKILL.
const stopGrace = 5 * time.Second

// errBind marks a JVM that could not bind its port (someone took the port
// between our probe and its bind); Start retries with another port.
var errBind = errors.New("ddblocal: DynamoDB Local could not bind its port")

// Instance is a running DynamoDB Local.
type Instance struct {
	// Endpoint is the base URL to give clients, http://127.0.0.1:<Port>.
	Endpoint string
	// Port is the TCP port it listens on. DynamoDB Local has no option to
	// choose its listen address and binds every interface, not only
	// loopback.
	Port int
	// Dir is the emulator directory it runs in.
	Dir string

	cmd      *exec.Cmd
	out      *outputWatcher
	done     chan struct{} // closed when the JVM has exited and been reaped
	waitErr  error         // cmd.Wait's result, valid once done is closed
	stopOnce sync.Once
	stopErr  error
}

// Start installs DynamoDB Local in cacheDir if need be (see Install) and
// runs it in memory on a free port:
//
//	java -Xmx2g -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar \
//	    -inMemory -sharedDb -disableTelemetry -port N
//
// in its own process group, with the emulator directory as working
// directory. -sharedDb makes every client see the same tables whatever
// credentials and region it signs with. Start returns once the server
// answers ListTables, giving up after 60 seconds or when ctx is done; ctx
// does not limit the instance's life afterwards — call Stop. The JVM's
// output and install progress go to log (nil discards them). On Linux the
// JVM is also killed if the process that started it dies.
func Start(ctx context.Context, cacheDir string, log io.Writer) (*Instance, error) {
	log = logWriter(log)
	dir, err := Install(ctx, cacheDir, log)
	if err != nil {
		return nil, err
	}
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		inst, err := launch(ctx, java, dir, port, log)
		if err == nil {
			return inst, nil
		}
		if !errors.Is(err, errBind) || attempt == attempts {
			return nil, err
		}
		fmt.Fprintf(log, "ddblocal: port %d was taken, trying another\n", port)
	}
}

func launch(ctx context.Context, java, dir string, port int, log io.Writer) (*Instance, error) {
	started := time.Now()
	out := newOutputWatcher(log)
	cmd := exec.Command(java,
		javaHeap,
		"-Djava.library.path=DynamoDBLocal_lib",
		"-jar", JarName,
		"-inMemory",
		"-sharedDb",
		"-disableTelemetry",
		"-port", strconv.Itoa(port),
	)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DDB_LOCAL_TELEMETRY=0")
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ddblocal: start %s: %w", java, err)
	}
	inst := &Instance{
		Endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:     port,
		Dir:      dir,
		cmd:      cmd,
		out:      out,
		done:     make(chan struct{}),
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.done)
	}()

	// failed reports a JVM that exited, or failed to start (on which it
	// prints a stack trace but does not exit).
	failed := make(chan error, 1)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		select {
		case <-inst.done:
			failed <- fmt.Errorf("ddblocal: DynamoDB Local exited during startup (%v); output:\n%s", inst.waitErr, out.tail())
		case <-out.fatal:
			time.Sleep(200 * time.Millisecond) // let the rest of the trace arrive
			if t := out.tail(); strings.Contains(t, "Failed to bind") || strings.Contains(t, "Address already in use") {
				failed <- fmt.Errorf("%w %d", errBind, port)
			} else {
				failed <- fmt.Errorf("ddblocal: DynamoDB Local failed to start; output:\n%s", t)
			}
		case <-quit:
		}
	}()

	waitCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := waitReady(waitCtx, inst.Endpoint, failed); err != nil {
		inst.Stop()
		return nil, err
	}
	fmt.Fprintf(log, "ddblocal: DynamoDB Local ready at %s (pid %d) in %s\n",
		inst.Endpoint, cmd.Process.Pid, time.Since(started).Round(time.Millisecond))
	return inst, nil
}

// Stop terminates the instance and its process group — SIGTERM, then
// SIGKILL after 5 seconds — and waits for it to exit. It returns an error
// only if the JVM had already died of its own accord with a failure status.
// Calling Stop more than once is harmless.
func (i *Instance) Stop() error {
	i.stopOnce.Do(func() {
		select {
		case <-i.done:
			if i.waitErr != nil {
				i.stopErr = fmt.Errorf("ddblocal: DynamoDB Local on port %d had exited: %v", i.Port, i.waitErr)
			}
			killGroup(i.cmd.Process.Pid, syscall.SIGKILL) // any stragglers
			return
		default:
		}
		killGroup(i.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-i.done:
		case <-time.After(stopGrace):
			killGroup(i.cmd.Process.Pid, syscall.SIGKILL)
			<-i.done
		}
		killGroup(i.cmd.Process.Pid, syscall.SIGKILL)
	})
	return i.stopErr
}

// Pause stops the instance's processes (SIGSTOP) without ending them, so
// that fault tests can see how clients fare against a database that
// accepts connections but does not answer. Resume undoes it.
func (i *Instance) Pause() { killGroup(i.cmd.Process.Pid, syscall.SIGSTOP) }

// Resume continues an instance that Pause stopped.
func (i *Instance) Resume() { killGroup(i.cmd.Process.Pid, syscall.SIGCONT) }

// killGroup signals the process group led by pid, ignoring a group that is
// already gone.
func killGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		// Fall back to the leader alone.
		syscall.Kill(pid, sig)
	}
}

// javaPath finds java: $JAVA_HOME/bin/java if that exists, else java on PATH.
func javaPath() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("ddblocal: DynamoDB Local needs Java 17 or later: %w", err)
	}
	return p, nil
}

// freePort returns a TCP port that was free on loopback a moment ago.
func freePort() (int, error) {
	var lastErr error
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			lastErr = err
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("ddblocal: no free port: %w", lastErr)
}

// outputWatcher passes the JVM's output to a log, keeps its tail for error
// messages and notices a fatal startup error.
type outputWatcher struct {
	log   io.Writer
	fatal chan struct{} // closed at `Exception in thread "main"`

	mu   sync.Mutex
	buf  []byte
	seen bool
}

const watcherTail = 8 << 10

func newOutputWatcher(log io.Writer) *outputWatcher {
	return &outputWatcher{log: logWriter(log), fatal: make(chan struct{})}
}

// Write never fails: an error would stop os/exec copying the JVM's output
// and leave the JVM blocked writing to a full pipe.
func (w *outputWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log.Write(p)
	w.buf = append(w.buf, p...)
	if !w.seen && strings.Contains(string(w.buf), `Exception in thread "main"`) {
		w.seen = true
		close(w.fatal)
	}
	if len(w.buf) > watcherTail {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-watcherTail:]...)
	}
	return len(p), nil
}

func (w *outputWatcher) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
