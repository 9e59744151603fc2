package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/gin/ginapp"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// screenshotPath is where UPDATE_SCREENSHOT=1 saves the logged-in page.
const screenshotPath = "../../docs/img/example-page.png"

// findChromium returns a Chromium or Chrome binary, or "" when there is
// none.
func findChromium() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium tab on the Gin app, served on loopback
// with its sessions in a fresh SQLite database.
type browser struct {
	t   *testing.T
	ctx context.Context
	srv *httptest.Server
}

// newBrowser starts the app and a browser; the test skips when there is
// no Chromium.
func newBrowser(t *testing.T) *browser {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("skipping the browser test: no chromium, chromium-browser or google-chrome on PATH " +
			"(install one, e.g. apt-get install chromium, or set CHROMIUM_PATH)")
	}

	db, _ := testdb.Open(t, testdb.SQLite)
	m, err := demo.NewManager(t.Context(), db, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ginapp.New(m, demo.DefaultFreshAge))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 1000),
	)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel)
	return &browser{t: t, ctx: ctx, srv: srv}
}

// flash waits for a flash message, which proves the form post was
// answered with a redirect back to the page.
func flash(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(fmt.Sprintf(`//div[contains(@class, "flash") and contains(., %q)]`, text))
}

// do runs the steps of one step of the test, which fails if they do.
func (b *browser) do(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// text is the text of the first element sel matches, trimmed.
func (b *browser) text(sel chromedp.CSS) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// logIn opens the page and logs in as user through its form.
func (b *browser) logIn(user string) {
	b.t.Helper()
	b.do("open the page",
		chromedp.Navigate(b.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("anonymous")),
	)
	b.do("log in through the form",
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), user),
		chromedp.Click(chromedp.ID("login")),
		flash("Logged in as "+user+"."),
	)
}

func TestPageInBrowser(t *testing.T) {
	b := newBrowser(t)
	b.logIn("Ada Lovelace")
	if user := b.text("#user"); user != "Ada Lovelace" {
		t.Errorf("page shows user %q after login, want Ada Lovelace", user)
	}
	b.do("count twice",
		chromedp.Click(chromedp.ID("increment")),
		flash("Count is now 1."),
		chromedp.Click(chromedp.ID("increment")),
		flash("Count is now 2."),
	)
	if count := b.text("#count"); count != "2" {
		t.Errorf("page shows count %q after two clicks, want 2", count)
	}
	b.do("set a preference",
		chromedp.SendKeys(chromedp.CSS("input[name=key]"), "theme"),
		chromedp.SendKeys(chromedp.CSS("input[name=value]"), "dark"),
		chromedp.Click(chromedp.ID("set-pref")),
		flash("Saved preference theme."),
	)
	if prefs := b.text("table"); !strings.Contains(prefs, "theme") || !strings.Contains(prefs, "dark") {
		t.Errorf("preferences table = %q, want theme dark", prefs)
	}
	if user := b.text("#user"); user != "Ada Lovelace" {
		t.Errorf("page shows user %q, want Ada Lovelace", user)
	}
	cookies, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if cookies != "" {
		t.Errorf("document.cookie = %q, want the session cookie hidden from scripts (HttpOnly)", cookies)
	}
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(screenshotPath, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", screenshotPath, len(shot))
	}

	b.do("log out",
		chromedp.Click(chromedp.ID("logout")),
		flash("Logged out."),
		chromedp.WaitVisible(chromedp.ID("anonymous")),
	)
	if count := b.text("#count"); count != "0" {
		t.Errorf("page shows count %q after logout, want 0 (a fresh session)", count)
	}

	// The browser's view agrees with the JSON API's: the session is gone.
	res, err := http.Get(b.srv.URL + "/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /me without a cookie = %d, want 401", res.StatusCode)
	}
}

// TestEndAnotherSessionInBrowser logs one user in twice, through the
// JSON API (another device) and through the page; the page lists both
// sessions, and its button ends the other one, which is then logged out.
func TestEndAnotherSessionInBrowser(t *testing.T) {
	const user, otherAgent = "Grace Hopper", "the other device"
	b := newBrowser(t)
	other := newAPIClient(t, b.srv.URL, otherAgent)
	other.call("POST", "/login", `{"username":"`+user+`"}`, http.StatusOK, nil)
	var list struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	other.call("GET", "/sessions", "", http.StatusOK, &list)
	if len(list.Sessions) != 1 || !list.Sessions[0].Current {
		t.Fatalf("the other device's GET /sessions = %+v, want its own session alone", list.Sessions)
	}
	otherID := list.Sessions[0].ID

	b.logIn(user)
	const rows = `#session-list li`
	if n := b.count(rows); n != 2 {
		t.Fatalf("the page lists %d sessions, want 2 (this browser's and the other device's)", n)
	}
	otherRow := fmt.Sprintf(`%s[data-session=%q]`, rows, otherID)
	if got := b.text(chromedp.CSS(otherRow)); !strings.Contains(got, otherAgent) || strings.Contains(got, "this session") {
		t.Errorf("the other device's row = %q, want its user agent, not marked as this session", got)
	}
	if got := b.text(rows + ".current"); !strings.Contains(got, "this session") || !strings.Contains(got, "HeadlessChrome") {
		t.Errorf("this browser's row = %q, want it marked as this session, with Chromium's user agent", got)
	}

	b.do("end the other session",
		chromedp.Click(chromedp.CSS(otherRow+" button")),
		flash("Session ended."),
	)
	other.call("GET", "/me", "", http.StatusUnauthorized, nil)
	if n := b.count(rows); n != 1 {
		t.Errorf("after ending the other session the page lists %d sessions, want 1", n)
	}
	if n := b.count(rows + ".current"); n != 1 {
		t.Errorf("the session left is not this browser's")
	}
	if user := b.text("#user"); user != "Grace Hopper" {
		t.Errorf("page shows user %q after ending the other session, want Grace Hopper still", user)
	}
}

// count is the number of elements sel matches.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// apiClient is a client of the app's JSON API with a cookie jar of its
// own: another device of the user.
type apiClient struct {
	t        *testing.T
	base, ua string
	hc       *http.Client
}

func newAPIClient(t *testing.T, base, userAgent string) *apiClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &apiClient{t: t, base: base, ua: userAgent, hc: &http.Client{Jar: jar}}
}

// call sends a JSON request, checks the status of the answer and decodes
// its body into out unless out is nil.
func (c *apiClient) call(method, path, body string, status int, out any) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.ua)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != status {
		c.t.Fatalf("%s %s = %d, want %d", method, path, res.StatusCode, status)
	}
	if out == nil {
		return
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
}
