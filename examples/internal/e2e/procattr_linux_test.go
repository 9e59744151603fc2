package e2e

import "syscall"

// procAttr makes the kernel kill an example process when the test binary
// dies, so that no orphan outlives a crashed or timed-out test run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
