package demo

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/hybridsession/hybridsession/core"
)

//go:embed page.html
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// pageData is what the page shows.
type pageData struct {
	Host         string
	User         string
	Count        int
	Prefs        []pref
	Flashes      []flash
	MaxUsername  int
	MaxPrefValue int
}

type pref struct{ Key, Value string }

type flash struct {
	Text  string
	Error bool
}

// Page is GET /: the HTML page of the session, with its user, counter,
// preferences and flash messages (which it consumes), and the forms that
// drive the other routes. It renders into memory, so a failure gives a
// clean 500, not half a page.
func Page(r *http.Request, s *core.Session) Outcome {
	data := pageData{
		Host:         r.Host,
		User:         s.UserID(),
		Count:        core.GetOr(s, CountKey, 0),
		MaxUsername:  MaxUsername,
		MaxPrefValue: MaxPrefValue,
	}
	for k, v := range prefs(s) {
		data.Prefs = append(data.Prefs, pref{k, v})
	}
	slices.SortFunc(data.Prefs, func(a, b pref) int { return strings.Compare(a.Key, b.Key) })
	for _, msg := range s.Flashes() {
		text, isErr := strings.CutPrefix(msg, errorFlash)
		data.Flashes = append(data.Flashes, flash{Text: text, Error: isErr})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return fail(r, s, err)
	}
	return Outcome{Status: http.StatusOK, HTML: buf.Bytes()}
}
