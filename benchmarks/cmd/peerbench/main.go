// Command peerbench compares hybridsession with its peers and writes
// docs/benchmarks.md and docs/img/benchmarks.png. Run it from benchmarks/
// (make bench-peers does):
//
//	go run ./cmd/peerbench            # defaults: about 8 minutes on 2 cores
//	go run ./cmd/peerbench -h
//
// The database-backed apps use a database created for the run on the
// PostgreSQL server of HYBRIDSESSION_TEST_POSTGRES (or -dsn), dropped at
// the end.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/benchmarks/peers"
	"github.com/jackc/pgx/v5"
)

func main() {
	testing.Init() // testing.Benchmark reads -test.benchtime
	var (
		opts     peers.Options
		scale    peers.ScaleOptions
		noScale  = flag.Bool("no-scale", false, "skip the scale and cleanup measurement")
		dsn      = flag.String("dsn", envOr("HYBRIDSESSION_TEST_POSTGRES", peers.DefaultDSN), "PostgreSQL server on which a private database is created (env HYBRIDSESSION_TEST_POSTGRES)")
		maxConns = flag.Int("max-conns", 8, "connections per app pool")
		out      = flag.String("out", "../docs/benchmarks.md", "the report to write")
		chart    = flag.String("chart", "../docs/img/benchmarks.png", "the chart to write; it is linked from -out relative to -out's directory")
		heapN    = flag.Int("heap-sessions", 100_000, "sessions in the cache memory measurement")
	)
	flag.IntVar(&opts.InProcRounds, "rounds", 5, "interleaved rounds of in-process benchmarks")
	flag.DurationVar(&opts.BenchTime, "benchtime", 150*time.Millisecond, "time of each in-process benchmark")
	flag.IntVar(&opts.LoadRounds, "load-rounds", 3, "interleaved rounds over loopback")
	flag.DurationVar(&opts.LoadDuration, "duration", 2*time.Second, "load per app and route in each loopback round")
	flag.IntVar(&opts.Concurrency, "concurrency", 32, "clients of the load generator")
	flag.IntVar(&opts.StmtRequests, "stmt-requests", 100, "requests per SQL statement count")
	flag.IntVar(&scale.Small, "scale-small", 1_000, "sessions in the small table of the scale measurement")
	flag.IntVar(&scale.Large, "scale-large", 1_000_000, "sessions in the large table (and expired rows for the cleanup)")
	flag.IntVar(&scale.Rounds, "scale-rounds", 3, "interleaved rounds of the scale measurement")
	flag.BoolVar(&scale.Cleanup, "cleanup", true, "measure the cleanup of -scale-large expired rows under load")
	flag.Parse()
	if err := peers.SetBenchTime(opts.BenchTime); err != nil {
		fatal(err)
	}
	// The peers log cookie errors with the standard logger; progress goes
	// to stderr.
	log.SetOutput(io.Discard)
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	opts.Log, scale.Log = logf, logf
	scale.Duration, scale.Concurrency = opts.LoadDuration, opts.Concurrency

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	rep := &peers.Report{
		Options: opts, Date: start, Command: commandLine(), CPU: cpuModel(), Cores: runtime.NumCPU(),
		GoVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, LoadStart: loadAvg(), MaxConns: *maxConns,
		Modules: modules(),
	}
	logf("load average %s; writing %s and %s", rep.LoadStart, *out, *chart)

	pdb, err := peers.CreatePrivateDB(ctx, *dsn)
	if err != nil {
		fatal(err)
	}
	logf("created database %s", pdb.Name)
	err = run(ctx, pdb, rep, opts, scale, *noScale, *maxConns, *heapN)
	if derr := pdb.Drop(); derr != nil {
		logf("dropping %s: %v", pdb.Name, derr)
	} else {
		logf("dropped database %s", pdb.Name)
	}
	if err != nil {
		fatal(err)
	}
	rep.Duration = time.Since(start)
	rep.LoadEnd = loadAvg()
	if err := os.MkdirAll(filepath.Dir(*chart), 0o755); err != nil {
		fatal(err)
	}
	if err := peers.WriteChart(*chart, rep.Results); err != nil {
		fatal(err)
	}
	if rel, err := filepath.Rel(filepath.Dir(*out), *chart); err == nil {
		rep.ChartPaths = []string{filepath.ToSlash(rel)}
	}
	f, err := os.Create(*out)
	if err != nil {
		fatal(err)
	}
	if err := rep.WriteMarkdown(f); err != nil {
		fatal(err)
	}
	if err := f.Close(); err != nil {
		fatal(err)
	}
	logf("wrote %s and %s in %v", *out, *chart, rep.Duration.Round(time.Second))
}

func run(ctx context.Context, pdb *peers.PrivateDB, rep *peers.Report, opts peers.Options, scale peers.ScaleOptions, noScale bool, maxConns, heapN int) error {
	rep.Postgres = postgresVersion(ctx, pdb.DSN)
	env := peers.Env{DSN: pdb.DSN, MaxConns: maxConns, Secret: []byte("peerbench-signing-key-32-bytes!!")}
	apps, err := peers.BuildApps(ctx, env)
	if err != nil {
		return err
	}
	defer func() {
		for _, a := range apps {
			a.Close()
		}
	}()
	if rep.Results, err = peers.Measure(ctx, apps, opts); err != nil {
		return err
	}
	opts.Log("cache memory with %d sessions", heapN)
	if h, err := peers.CacheHeap(heapN); err != nil {
		rep.HeapErr = err.Error()
	} else {
		rep.Heap = &h
	}
	if noScale {
		rep.ScaleNote = "skipped with -no-scale."
		return nil
	}
	opts.Log("scale: %d vs %d sessions", scale.Small, scale.Large)
	rep.Scale, err = peers.Scale(ctx, env, scale)
	if err != nil {
		rep.Scale, rep.ScaleNote = nil, "failed: "+err.Error()
		opts.Log("scale failed: %v", err)
	}
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "peerbench:", err)
	os.Exit(1)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func commandLine() string {
	return strings.TrimSpace("go run ./cmd/peerbench " + strings.Join(os.Args[1:], " "))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

func postgresVersion(ctx context.Context, dsn string) string {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "PostgreSQL (version unknown)"
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "PostgreSQL (version unknown)"
	}
	return "PostgreSQL " + strings.Fields(v)[0]
}

// modules lists the modules of the build: the main module, then every
// dependency with its version. The library itself is replaced by the
// working tree: its commit is given.
func modules() [][2]string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	out := [][2]string{{bi.Main.Path, "this tree"}}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = "replaced by " + d.Replace.Path
			if d.Replace.Path == "../" {
				v += " at " + gitHead()
			}
		}
		out = append(out, [2]string{d.Path, v})
	}
	return out
}

func gitHead() string {
	b, err := exec.Command("git", "-C", "..", "log", "-1", "--format=%h %cs").Output()
	if err != nil {
		return "unknown commit"
	}
	head := strings.TrimSpace(string(b))
	if st, err := exec.Command("git", "-C", "..", "status", "--porcelain", "--", "core", "ginsession", "echosession", "gormstore").Output(); err == nil && len(st) > 0 {
		head += ", with uncommitted changes"
	}
	return head
}
