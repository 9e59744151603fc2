package browsertest

import (
	"context"
	"fmt"
	"net/http"
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

func TestPageInBrowser(t *testing.T) {
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
	srv := httptest.NewServer(ginapp.New(m))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
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
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	defer cancel()

	// flash waits for a flash message, which proves the form post was
	// answered with a redirect back to the page.
	flash := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(fmt.Sprintf(`//div[contains(@class, "flash") and contains(., %q)]`, text))
	}
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	do("open the page",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("anonymous")),
	)
	do("log in through the form",
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), "Ada Lovelace"),
		chromedp.Click(chromedp.ID("login")),
		flash("Logged in as Ada Lovelace."),
	)
	if user := text("#user"); user != "Ada Lovelace" {
		t.Errorf("page shows user %q after login, want Ada Lovelace", user)
	}
	do("count twice",
		chromedp.Click(chromedp.ID("increment")),
		flash("Count is now 1."),
		chromedp.Click(chromedp.ID("increment")),
		flash("Count is now 2."),
	)
	if count := text("#count"); count != "2" {
		t.Errorf("page shows count %q after two clicks, want 2", count)
	}
	do("set a preference",
		chromedp.SendKeys(chromedp.CSS("input[name=key]"), "theme"),
		chromedp.SendKeys(chromedp.CSS("input[name=value]"), "dark"),
		chromedp.Click(chromedp.ID("set-pref")),
		flash("Saved preference theme."),
	)
	if prefs := text("table"); !strings.Contains(prefs, "theme") || !strings.Contains(prefs, "dark") {
		t.Errorf("preferences table = %q, want theme dark", prefs)
	}
	if user := text("#user"); user != "Ada Lovelace" {
		t.Errorf("page shows user %q, want Ada Lovelace", user)
	}
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if cookies != "" {
		t.Errorf("document.cookie = %q, want the session cookie hidden from scripts (HttpOnly)", cookies)
	}
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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

	do("log out",
		chromedp.Click(chromedp.ID("logout")),
		flash("Logged out."),
		chromedp.WaitVisible(chromedp.ID("anonymous")),
	)
	if count := text("#count"); count != "0" {
		t.Errorf("page shows count %q after logout, want 0 (a fresh session)", count)
	}

	// The browser's view agrees with the JSON API's: the session is gone.
	res, err := http.Get(srv.URL + "/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /me without a cookie = %d, want 401", res.StatusCode)
	}
}
