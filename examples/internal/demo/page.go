package demo

import (
	"bytes"
	_ "embed"
	"html/template"
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

// RenderPage renders the page that GET / answers, for session s and the
// host the request names: the session's user, counter, preferences and
// flash messages (which it consumes), and the forms that drive the other
// routes. It renders into memory, so that a failure can still be answered
// with a clean 500, not half a page.
func RenderPage(host string, s *core.Session) ([]byte, error) {
	data := pageData{
		Host:         host,
		User:         s.UserID(),
		Count:        core.GetOr(s, CountKey, 0),
		MaxUsername:  MaxUsername,
		MaxPrefValue: MaxPrefValue,
	}
	for k, v := range Prefs(s) {
		data.Prefs = append(data.Prefs, pref{k, v})
	}
	slices.SortFunc(data.Prefs, func(a, b pref) int { return strings.Compare(a.Key, b.Key) })
	for _, msg := range s.Flashes() {
		text, isErr := strings.CutPrefix(msg, errorFlash)
		data.Flashes = append(data.Flashes, flash{Text: text, Error: isErr})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
