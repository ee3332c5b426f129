package ddblocal

import "syscall"

// sysProcAttr puts the JVM in its own process group, so Stop can signal it
// and anything it spawned, and has the kernel kill it should the process that
// started it die without calling Stop (a test binary killed by go test's
// timeout or by ^C).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
