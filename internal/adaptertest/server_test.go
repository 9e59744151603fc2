package adaptertest

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybridsession/hybridsession/core"
)

// serve starts a loopback server for f, stopped when the test ends.
func serve(t testing.TB, f *fixture) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f.handler)
	t.Cleanup(srv.Close)
	return srv
}

// TestStreamSetsCookieInFirstChunk checks over a real connection that a
// streamed response carries the session cookie in the headers that go out
// with its first flush, while the handler is still running.
func TestStreamSetsCookieInFirstChunk(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, eng, core.Config{})
			gate := make(chan struct{})
			f.probe.gate = gate
			srv := serve(t, f)

			res, err := srv.Client().Get(srv.URL + "/set/stream")
			if err != nil {
				close(gate)
				t.Fatalf("GET /set/stream: %v", err)
			}
			defer res.Body.Close()
			// The handler waits on the gate: what arrived so far was flushed.
			br := bufio.NewReader(res.Body)
			first := make([]byte, len(handlerMark+"fresh"))
			_, err = io.ReadFull(br, first)
			c := sessionCookie(t, res)
			close(gate)
			if err != nil {
				t.Fatalf("reading the first chunk: %v", err)
			}
			if c == nil || !tokenShape.MatchString(c.Value) {
				t.Errorf("headers of the first flushed chunk: Set-Cookie = %q, want a session token", res.Header.Values("Set-Cookie"))
			}
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("reading the rest: %v", err)
			}
			if got, want := string(first)+string(rest), strings.Repeat(handlerMark+"fresh", streamChunks); got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
		})
	}
}

// TestBrowserRoundTrip drives a session over loopback with a cookie jar, as
// a browser would: set, read, log in, read, destroy, read.
func TestBrowserRoundTrip(t *testing.T) {
	steps := []struct {
		path string
		want string
	}{
		{"/get/string", handlerMark},
		{"/set/json?v=one", `{"body":"` + handlerMark + `one"}`},
		{"/get/string", handlerMark + "one"},
		{"/login/string", handlerMark},
		{"/incr/string", handlerMark + "1"},
		{"/get/string", handlerMark + "one"},
		{"/destroy/string", handlerMark},
		{"/get/string", handlerMark},
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, newFixture(t, eng, core.Config{}))
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			client := srv.Client()
			client.Jar = jar
			for _, st := range steps {
				res, err := client.Get(srv.URL + st.path)
				if err != nil {
					t.Fatalf("GET %s: %v", st.path, err)
				}
				got := strings.TrimSpace(body(t, res))
				res.Body.Close()
				if res.StatusCode != http.StatusOK || got != st.want {
					t.Fatalf("GET %s: %d %q, want 200 %q", st.path, res.StatusCode, got, st.want)
				}
			}
		})
	}
}
