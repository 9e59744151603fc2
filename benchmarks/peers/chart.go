package peers

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	colorRead   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorChange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// hbars is a horizontal grouped bar chart with one bar per app and series.
func hbars(title, xlabel string, names []string, series []plotter.Values, labels []string, colors []color.Color) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.X.Min = 0
	w := vg.Points(9)
	for k, vals := range series {
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bc.Horizontal = true
		bc.LineStyle.Width = 0
		bc.Color = colors[k]
		bc.Offset = w * vg.Length(float64(len(series)-1-k)-float64(len(series)-1)/2)
		p.Add(bc)
		p.Legend.Add(labels[k], bc)
	}
	p.Legend.Top = true
	p.NominalY(names...)
	p.Y.Max++ // an empty row at the top for the legend
	p.Add(plotter.NewGrid())
	return p, nil
}

// WriteChart draws req/s (as a multiple of the floor) and the latency
// added in process, per app, into a PNG at path. Apps are listed top down
// in the order of res.Apps; the floors are left out.
func WriteChart(path string, res *Results) error {
	stats := res.Summarize()
	var names []string
	var rpsRead, rpsChange, addRead, addChange plotter.Values
	// NominalY puts the first name at the bottom: walk the apps backwards.
	for i := len(res.Apps) - 1; i >= 0; i-- {
		a := res.Apps[i]
		if a.Floor() {
			continue
		}
		names = append(names, a.Name)
		rpsRead = append(rpsRead, stats[i][0].RPSRatio)
		rpsChange = append(rpsChange, stats[i][1].RPSRatio)
		addRead = append(addRead, max(0, stats[i][0].AddedNs/1e3))
		addChange = append(addChange, max(0, stats[i][1].AddedNs/1e3))
	}
	// The latency axis is logarithmic, from 0.1 µs: bars of log10(10·µs),
	// with ticks labelled in µs (a log scale proper cannot start a bar at 0).
	for _, v := range [][]float64{addRead, addChange} {
		for k := range v {
			v[k] = math.Log10(10 * max(v[k], 0.1))
		}
	}
	colors := []color.Color{colorRead, colorChange}
	left, err := hbars("Requests/s under load, × bare framework (higher is better)", "× floor req/s (32 clients, loopback)",
		names, []plotter.Values{rpsRead, rpsChange}, []string{"read", "change"}, colors)
	if err != nil {
		return err
	}
	right, err := hbars("Latency added over the bare framework, in-process (lower is better)", "added µs per request (ServeHTTP)",
		names, []plotter.Values{addRead, addChange}, []string{"read", "change"}, colors)
	if err != nil {
		return err
	}
	right.X.Max = math.Max(5, right.X.Max)
	right.X.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "≤0.1"}, {Value: 1, Label: "1"}, {Value: 2, Label: "10"},
		{Value: 3, Label: "100"}, {Value: 4, Label: "1 000"}, {Value: 5, Label: "10 000"}}
	const width, height = 16 * vg.Inch, 6 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	fill := draw.Canvas{Canvas: dc, Rectangle: dc.Rectangle}
	fill.SetColor(color.White)
	fill.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 3, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
