package adaptertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/ginsession"
)

// The three engines serve the same routes, /<action>/<answer>: the action
// does something with the session, then the handler answers the way its
// framework does. Every body a handler writes starts with handlerMark, so
// that a test can tell whether any of it reached the client.
const handlerMark = "handler:"

// An action is what a route does with the session. It returns text for the
// answer and reports errors to the probe.
type action func(s *core.Session, r *http.Request, p *probe) string

// actions by route name; "untouched" never asks for the session.
var actions = map[string]action{
	"untouched": nil,
	"get": func(s *core.Session, _ *http.Request, _ *probe) string {
		v, _ := core.Get[string](s, "v")
		return v
	},
	"keys": func(s *core.Session, _ *http.Request, _ *probe) string {
		return strings.Join(s.Keys(), ",")
	},
	"set": func(s *core.Session, r *http.Request, _ *probe) string {
		v := r.URL.Query().Get("v")
		if v == "" {
			v = "fresh"
		}
		s.Set("v", v)
		return v
	},
	"incr": func(s *core.Session, _ *http.Request, _ *probe) string {
		n, _ := core.Get[int](s, "n")
		s.Set("n", n+1)
		return fmt.Sprint(n + 1)
	},
	"save": func(s *core.Session, r *http.Request, p *probe) string {
		s.Set("v", "saved")
		p.report(s.Save(r.Context()))
		return "saved"
	},
	"destroy": func(s *core.Session, r *http.Request, p *probe) string {
		p.report(s.Destroy(r.Context()))
		return ""
	},
	"login": func(s *core.Session, _ *http.Request, _ *probe) string {
		s.Login("alice")
		return ""
	},
	"renew": func(s *core.Session, _ *http.Request, _ *probe) string {
		s.Renew()
		return ""
	},
	"concurrent": func(s *core.Session, r *http.Request, p *probe) string {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				s.Set(fmt.Sprintf("k%d", i), i)
				_, _ = s.Get("v")
				_ = s.Keys()
				if i%4 == 0 {
					p.report(s.Save(r.Context()))
				}
			})
		}
		wg.Wait()
		return strings.Join(s.Keys(), ",")
	},
}

// An answer is a way for a handler to respond.
type answer string

const (
	answerJSON     answer = "json"     // a JSON body
	answerString   answer = "string"   // a text body
	answerStatus   answer = "status"   // a status and no body (gin: c.Status alone)
	answerAbort    answer = "abort"    // gin: AbortWithStatus; echo: NoContent; net/http: WriteHeader
	answerRedirect answer = "redirect" // a 303 to /elsewhere
	answerStream   answer = "stream"   // flushes the headers, then chunks, each flushed
	answerFile     answer = "file"     // the probe's file
	answerNothing  answer = "nothing"  // the handler writes nothing
	answer4xx      answer = "error4xx" // a 400 the framework's way (echo: a returned error)
	answer5xx      answer = "error5xx" // a 500 the framework's way (echo: a returned error)
)

// answers lists every answer, with the status it gives when all goes well.
var answers = []struct {
	answer answer
	status int
}{
	{answerJSON, http.StatusOK},
	{answerString, http.StatusOK},
	{answerStatus, http.StatusAccepted},
	{answerAbort, http.StatusNoContent},
	{answerRedirect, http.StatusSeeOther},
	{answerStream, http.StatusOK},
	{answerFile, http.StatusOK},
	{answerNothing, http.StatusOK},
	{answer4xx, http.StatusBadRequest},
	{answer5xx, http.StatusInternalServerError},
}

// streamChunks is how many chunks answerStream writes.
const streamChunks = 3

// probe connects a test with the handlers of one app.
type probe struct {
	file string        // served by answerFile
	gate chan struct{} // when set, answerStream waits on it after its first chunk

	mu   sync.Mutex
	errs []error // what actions reported
}

func (p *probe) report(err error) {
	if err != nil {
		p.mu.Lock()
		p.errs = append(p.errs, err)
		p.mu.Unlock()
	}
}

// err returns the reported errors, joined, and forgets them.
func (p *probe) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errors.Join(p.errs...)
	p.errs = nil
	return err
}

// waitGate blocks while the test holds the gate.
func (p *probe) waitGate() {
	if p.gate != nil {
		<-p.gate
	}
}

// An engine builds an app serving every action × answer route. With a nil
// manager the app has no session middleware (only untouched routes work).
type engine struct {
	name  string
	build func(m *core.Manager, p *probe) http.Handler
}

var engines = []engine{
	{"nethttp", newNetHTTP},
	{"gin", newGin},
	{"echo", newEcho},
}

// run runs the action of a route; it returns what the handler answers.
func run(act action, s func() *core.Session, r *http.Request, p *probe) string {
	if act == nil {
		return handlerMark
	}
	return handlerMark + act(s(), r, p)
}

func newNetHTTP(m *core.Manager, p *probe) http.Handler {
	mux := http.NewServeMux()
	for name, act := range actions {
		for _, a := range answers {
			mux.HandleFunc("/"+name+"/"+string(a.answer), func(w http.ResponseWriter, r *http.Request) {
				body := run(act, func() *core.Session {
					s, _ := core.FromContext(r.Context())
					return s
				}, r, p)
				switch a.answer {
				case answerJSON:
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(map[string]string{"body": body})
				case answerString:
					_, _ = io.WriteString(w, body)
				case answerStatus, answerAbort:
					w.WriteHeader(a.status)
				case answerRedirect:
					http.Redirect(w, r, "/elsewhere", http.StatusSeeOther)
				case answerStream:
					rc := http.NewResponseController(w)
					_ = rc.Flush()
					for i := range streamChunks {
						_, _ = io.WriteString(w, body)
						_ = rc.Flush()
						if i == 0 {
							p.waitGate()
						}
					}
				case answerFile:
					http.ServeFile(w, r, p.file)
				case answerNothing:
				case answer4xx, answer5xx:
					http.Error(w, body, a.status)
				}
			})
		}
	}
	if m == nil {
		return mux
	}
	return m.Middleware(mux)
}

func newGin(m *core.Manager, p *probe) http.Handler {
	r := gin.New()
	if m != nil {
		r.Use(ginsession.Middleware(m))
	}
	for name, act := range actions {
		for _, a := range answers {
			r.GET("/"+name+"/"+string(a.answer), func(c *gin.Context) {
				body := run(act, func() *core.Session { return ginsession.From(c) }, c.Request, p)
				switch a.answer {
				case answerJSON:
					c.JSON(a.status, gin.H{"body": body})
				case answerString:
					c.String(a.status, body)
				case answerStatus:
					c.Status(a.status)
				case answerAbort:
					c.AbortWithStatus(a.status)
				case answerRedirect:
					c.Redirect(a.status, "/elsewhere")
				case answerStream:
					i := 0
					c.Stream(func(w io.Writer) bool {
						if i == 0 {
							c.Writer.Flush()
						}
						_, _ = io.WriteString(w, body)
						if i == 0 {
							c.Writer.Flush()
							p.waitGate()
						}
						i++
						return i < streamChunks
					})
				case answerFile:
					c.File(p.file)
				case answerNothing:
				case answer4xx, answer5xx:
					c.AbortWithStatusJSON(a.status, gin.H{"body": body})
				}
			})
		}
	}
	return r
}

func newEcho(m *core.Manager, p *probe) http.Handler {
	e := echo.New()
	e.Logger.SetOutput(io.Discard) // a replaced response's dropped writes are logged
	if m != nil {
		e.Use(echosession.Middleware(m))
	}
	for name, act := range actions {
		for _, a := range answers {
			e.GET("/"+name+"/"+string(a.answer), func(c echo.Context) error {
				body := run(act, func() *core.Session { return echosession.From(c) }, c.Request(), p)
				switch a.answer {
				case answerJSON:
					return c.JSON(a.status, map[string]string{"body": body})
				case answerString:
					return c.String(a.status, body)
				case answerStatus:
					c.Response().WriteHeader(a.status)
					return nil
				case answerAbort:
					return c.NoContent(a.status)
				case answerRedirect:
					return c.Redirect(a.status, "/elsewhere")
				case answerStream:
					res := c.Response()
					res.WriteHeader(a.status) // Echo's Flush alone leaves the response uncommitted
					res.Flush()
					for i := range streamChunks {
						if _, err := io.WriteString(res, body); err != nil {
							return err
						}
						res.Flush()
						if i == 0 {
							p.waitGate()
						}
					}
					return nil
				case answerFile:
					return c.File(p.file)
				case answerNothing:
					return nil
				case answer4xx:
					return echo.NewHTTPError(a.status, body)
				default: // answer5xx
					return errors.New(body)
				}
			})
		}
	}
	return e
}
