package demo

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/hybridsession/hybridsession/core"
)

//go:embed page.html
var pageSource string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"when": when}).Parse(pageSource))

// pageData is what the page shows.
type pageData struct {
	Host         string
	User         string
	Sessions     []core.SessionInfo // the user's, most recently seen first
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
// host the request names: the session's user and, when logged in, the
// user's sessions (s.UserSessions), the counter, preferences and flash
// messages (which it consumes), and the forms that drive the other routes.
// It renders into memory, so that a failure can still be answered with a
// clean 500, not half a page; an error listing the sessions is returned
// as it is, for the app to answer as any session error.
func RenderPage(ctx context.Context, host string, s *core.Session) ([]byte, error) {
	data := pageData{
		Host:         host,
		User:         s.UserID(),
		Count:        core.GetOr(s, CountKey, 0),
		MaxUsername:  MaxUsername,
		MaxPrefValue: MaxPrefValue,
	}
	if data.User != "" {
		var err error
		if data.Sessions, err = s.UserSessions(ctx); err != nil {
			return nil, err
		}
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

// when is how the page shows a time: to the minute, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}
