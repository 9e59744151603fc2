package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/benchmarks/peers"
)

func main() {
	testing.Init()
	peers.SetBenchTime(50 * time.Millisecond)
	ctx := context.Background()
	pdb, err := peers.CreatePrivateDB(ctx, peers.DefaultDSN)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer pdb.Drop()
	apps, err := peers.BuildApps(ctx, peers.Env{DSN: pdb.DSN, MaxConns: 8, Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := peers.Measure(ctx, apps, peers.Options{InProcRounds: 1, BenchTime: 50 * time.Millisecond, LoadRounds: 1, LoadDuration: 300 * time.Millisecond, Concurrency: 32, StmtRequests: 20, Log: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, a := range apps {
		for j, rt := range peers.Routes {
			ip := res.InProc[i][j][0]
			l := res.Load[i][j][0]
			fmt.Printf("%-34s %-10s %9.0f ns %6.0f B %5.0f allocs | %7.0f rps p50 %v p99 %v\n", a.Name, rt.Name, ip.NsPerOp, ip.BytesPerOp, ip.AllocsPerOp, l.RPS(), l.P50, l.P99)
		}
		a.Close()
	}
}
