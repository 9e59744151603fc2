package peers

import (
	"slices"
	"time"
)

// median returns the median of xs, 0 when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Stat is the summary of one app on one route: medians over the rounds,
// and ratios and differences to the floor taken round by round (the floor
// ran in the same round), then their median.
type Stat struct {
	Ns, Bytes, Allocs      float64
	NsRatio                float64 // ns/op ÷ floor's
	AddedNs, AddedAllocs   float64 // over the floor
	RPS, RPSRatio          float64
	P50, P99               time.Duration
	AddedP50               time.Duration
	SQL                    float64
	Errors                 int64
	InProcRounds, LoadRuns int
}

// Floor returns the index of the bare app of apps[i]'s framework.
func Floor(apps []*App, i int) int {
	for j, a := range apps {
		if a.Floor() && a.Framework == apps[i].Framework {
			return j
		}
	}
	return i
}

// Summarize returns the Stat of every app and route: [app][route].
func (r *Results) Summarize() [][]Stat {
	out := make([][]Stat, len(r.Apps))
	for i := range r.Apps {
		f := Floor(r.Apps, i)
		out[i] = make([]Stat, len(Routes))
		for j := range Routes {
			st := &out[i][j]
			var ns, b, al, nsRatio, addNs, addAl []float64
			for k, v := range r.InProc[i][j] {
				fl := r.InProc[f][j][k]
				ns, b, al = append(ns, v.NsPerOp), append(b, v.BytesPerOp), append(al, v.AllocsPerOp)
				nsRatio = append(nsRatio, v.NsPerOp/fl.NsPerOp)
				addNs = append(addNs, v.NsPerOp-fl.NsPerOp)
				addAl = append(addAl, v.AllocsPerOp-fl.AllocsPerOp)
			}
			st.Ns, st.Bytes, st.Allocs = median(ns), median(b), median(al)
			st.NsRatio, st.AddedNs, st.AddedAllocs = median(nsRatio), median(addNs), median(addAl)
			st.InProcRounds = len(ns)
			var rps, ratio, p50, p99, addP50 []float64
			for k, v := range r.Load[i][j] {
				fl := r.Load[f][j][k]
				rps = append(rps, v.RPS())
				if fl.RPS() > 0 {
					ratio = append(ratio, v.RPS()/fl.RPS())
				}
				p50, p99 = append(p50, float64(v.P50)), append(p99, float64(v.P99))
				addP50 = append(addP50, float64(v.P50-fl.P50))
				st.Errors += v.Errors
			}
			st.RPS, st.RPSRatio = median(rps), median(ratio)
			st.P50, st.P99, st.AddedP50 = time.Duration(median(p50)), time.Duration(median(p99)), time.Duration(median(addP50))
			st.LoadRuns = len(rps)
			if j < len(r.SQL[i]) {
				st.SQL = r.SQL[i][j]
			}
		}
	}
	return out
}
