package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the example binaries built for this test run; TestMain
// removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hybridsession-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Timeouts of the process helpers.
const (
	startTimeout = 20 * time.Second // from exec to a healthy /healthz
	stopTimeout  = 10 * time.Second // from SIGTERM to exit, then SIGKILL
)

var build struct {
	once sync.Once
	err  error
	took time.Duration
}

// binary returns the path of the example app called name ("gin" or
// "echo"), building both apps the first time it is called in a test run,
// with the race detector when the tests have it.
func binary(t testing.TB, name string) string {
	t.Helper()
	build.once.Do(func() {
		start := time.Now()
		build.err = buildExamples()
		build.took = time.Since(start)
	})
	if build.err != nil {
		t.Fatalf("build example apps: %v", build.err)
	}
	return filepath.Join(binDir, name)
}

func buildExamples() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	for _, name := range []string{"gin", "echo"} {
		args := []string{"build"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "-o", filepath.Join(binDir, name), "./examples/"+name)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// process is one running example app.
type process struct {
	name string // "gin#1"
	base string // "http://127.0.0.1:port"
	cmd  *exec.Cmd
	log  *os.File // stderr and stdout
	done chan struct{}
	err  error // of cmd.Wait, once done is closed
}

// startApp starts the example app called app ("gin" or "echo") on dsn, on
// a free loopback port, with the cleanup job off, and waits until its
// /healthz answers 200. The process is stopped when the test ends; a test
// that failed gets the end of its log.
func startApp(t *testing.T, app, dsn string, n int) *process {
	t.Helper()
	bin := binary(t, app)
	name := fmt.Sprintf("%s#%d", app, n)
	for attempt := 1; ; attempt++ {
		p, err := tryStart(t, bin, name, dsn)
		if err == nil {
			return p
		}
		// The free port may have been taken between finding and binding it.
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("%s: port taken, retrying: %v", name, err)
			continue
		}
		t.Fatalf("start %s: %v", name, err)
	}
}

func tryStart(t *testing.T, bin, name, dsn string) (*process, error) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	logf, err := os.Create(filepath.Join(t.TempDir(), strings.ReplaceAll(name, "#", "-")+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", addr, "-dsn", dsn, "-cleanup-interval", "0")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	// Race reports of a -race build go to stderr, so to the log.
	cmd.Env = append(os.Environ(), "GIN_MODE=release")
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &process{name: name, base: "http://" + addr, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("exited before it was healthy (%v); log:\n%s", p.err, p.output())
		default:
		}
		if res, err := rawGet(p.base + "/healthz"); err == nil && res == http.StatusOK {
			return p, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not healthy after %v; log:\n%s", startTimeout, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the process: SIGTERM (a graceful shutdown), then SIGKILL after
// stopTimeout. It reports a data race the process logged, and shows its
// log when the test failed.
func (p *process) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			t.Errorf("%s did not stop within %v of SIGTERM; killing it", p.name, stopTimeout)
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
	out := p.output()
	if strings.Contains(out, "WARNING: DATA RACE") {
		t.Errorf("%s reported a data race:\n%s", p.name, out)
	} else if t.Failed() {
		t.Logf("%s log (last 4 KiB):\n%s", p.name, tail(out, 4<<10))
	}
}

func (p *process) output() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// healthClient polls /healthz without keeping connections open.
var healthClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// rawGet is a GET that reports only the status, for health polling.
func rawGet(url string) (int, error) {
	c := healthClient
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
