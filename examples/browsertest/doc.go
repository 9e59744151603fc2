// Package browsertest drives the Gin example app's page in a real headless
// Chromium through chromedp: log in with the form, count twice, set a
// preference, log out; and, with the user logged in on another device too
// (a JSON API client), see both sessions listed and end the other one
// with its button.
//
// It is a module of its own so that the browser-automation dependency stays
// out of the library's go.mod; it uses the library from this checkout
// (replace => ../..). Run it from this directory:
//
//	go test ./...
//	UPDATE_SCREENSHOT=1 go test ./...   # also rewrites docs/img/example-page.png
//
// The test skips when no Chromium or Chrome binary is found (set
// CHROMIUM_PATH to point at one); CI need not have one.
package browsertest
