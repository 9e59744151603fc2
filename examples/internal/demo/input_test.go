package demo

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckUsername(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "ann", "ann", true},
		{"trimmed", " \t ann \n", "ann", true},
		{"inner space kept", "ann lee", "ann lee", true},
		{"64 characters", strings.Repeat("a", 64), strings.Repeat("a", 64), true},
		{"64 multi-byte characters", strings.Repeat("ß", 64), strings.Repeat("ß", 64), true},
		{"65 characters", strings.Repeat("a", 65), "", false},
		{"empty", "", "", false},
		{"blank", "   ", "", false},
		{"control character", "a\x07b", "", false},
		{"invalid UTF-8", "a\xffb", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckUsername(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("CheckUsername(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestCheckPref(t *testing.T) {
	tests := []struct {
		name, key, value string
		ok               bool
	}{
		{"plain", "theme", "dark", true},
		{"digits and underscore", "a_1", "", true},
		{"32-character key", strings.Repeat("k", 32), "v", true},
		{"256-byte value", "k", strings.Repeat("v", 256), true},
		{"33-character key", strings.Repeat("k", 33), "v", false},
		{"empty key", "", "v", false},
		{"upper case", "Theme", "v", false},
		{"dash", "a-b", "v", false},
		{"newline after key", "theme\n", "v", false},
		{"257-byte value", "k", strings.Repeat("v", 257), false},
		{"129 two-byte characters", "k", strings.Repeat("é", 129), false},
		{"invalid UTF-8 value", "k", "\xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckPref(tc.key, tc.value); (err == nil) != tc.ok {
				t.Errorf("CheckPref(%q, %d bytes) = %v, want ok %v", tc.key, len(tc.value), err, tc.ok)
			}
		})
	}
}

func TestIsBrowserForm(t *testing.T) {
	tests := []struct {
		name, contentType, accept string
		want                      bool
	}{
		{"browser form", "application/x-www-form-urlencoded", "text/html,application/xhtml+xml,*/*;q=0.8", true},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", "text/html", true},
		{"curl form", "application/x-www-form-urlencoded", "*/*", false},
		{"JSON asking for HTML", "application/json", "text/html", false},
		{"no content type", "", "text/html", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/login", nil)
			r.Header.Set("Content-Type", tc.contentType)
			r.Header.Set("Accept", tc.accept)
			if got := IsBrowserForm(r); got != tc.want {
				t.Errorf("IsBrowserForm(Content-Type %q, Accept %q) = %v, want %v", tc.contentType, tc.accept, got, tc.want)
			}
		})
	}
}

// TestReadLogin checks the values ReadLogin gives and the status of its
// errors; the contract suite checks the same through both apps.
func TestReadLogin(t *testing.T) {
	const form, js = "application/x-www-form-urlencoded", "application/json"
	tests := []struct {
		name, contentType, body string
		want                    Login
		status                  int // of the error; 0 for none
	}{
		{"JSON", js, `{"username": " ann "}`, Login{"ann", true}, 0},
		{"JSON remember false", js, `{"username": "ann", "remember": false}`, Login{"ann", false}, 0},
		{"no Content-Type", "", `{"username": "ann", "remember": null}`, Login{"ann", true}, 0},
		{"form, last remember counts", form, "username=ann&remember=false&remember=on", Login{"ann", true}, 0},
		{"form checkbox not ticked", form, "username=ann&remember=false", Login{"ann", false}, 0},
		{"missing username", js, `{}`, Login{}, 400},
		{"username twice", form, "username=a&username=b", Login{}, 400},
		{"unknown field", js, `{"username": "ann", "admin": true}`, Login{}, 400},
		{"too large", js, `{"username": "` + strings.Repeat("x", MaxBodySize) + `"}`, Login{}, 413},
		{"unsupported", "text/plain", "ann", Login{}, 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			got, err := ReadLogin(r)
			if got != tc.want || errorStatus(err) != tc.status {
				t.Errorf("ReadLogin(%s %q) = %+v, %v; want %+v and status %d", tc.contentType, tc.body, got, err, tc.want, tc.status)
			}
		})
	}
}

// TestReadPref checks ReadPref and ReadPrefForm.
func TestReadPref(t *testing.T) {
	read := func(contentType, body string, readPref func(*http.Request) (Pref, error)) (Pref, error) {
		r := httptest.NewRequest(http.MethodPut, "/prefs/theme", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		return readPref(r)
	}
	theme := func(r *http.Request) (Pref, error) { return ReadPref(r, "theme") }
	bad := func(r *http.Request) (Pref, error) { return ReadPref(r, "Bad") }
	tests := []struct {
		name, contentType, body string
		readPref                func(*http.Request) (Pref, error)
		want                    Pref
		status                  int
	}{
		{"PUT JSON", "application/json", `{"value":"dark"}`, theme, Pref{"theme", "dark"}, 0},
		{"PUT form", "application/x-www-form-urlencoded", "value=dark", theme, Pref{"theme", "dark"}, 0},
		{"PUT empty value", "application/json", `{"value":""}`, theme, Pref{"theme", ""}, 0},
		{"PUT missing value", "application/json", `{}`, theme, Pref{}, 400},
		{"PUT bad key", "application/json", `{"value":"x"}`, bad, Pref{}, 400},
		{"POST form", "application/x-www-form-urlencoded", "key=lang&value=en", ReadPrefForm, Pref{"lang", "en"}, 0},
		{"POST JSON", "application/json", `{"key":"lang","value":"en"}`, ReadPrefForm, Pref{"lang", "en"}, 0},
		{"POST missing key", "application/x-www-form-urlencoded", "value=en", ReadPrefForm, Pref{}, 400},
		{"POST unknown field", "application/x-www-form-urlencoded", "key=a&value=b&c=d", ReadPrefForm, Pref{}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(tc.contentType, tc.body, tc.readPref)
			if got != tc.want || errorStatus(err) != tc.status {
				t.Errorf("%s %q = %+v, %v; want %+v and status %d", tc.contentType, tc.body, got, err, tc.want, tc.status)
			}
		})
	}
}

// errorStatus is the status of a *ClientError, 0 for nil and -1 for any
// other error.
func errorStatus(err error) int {
	var ce *ClientError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return ce.Status
	}
	return -1
}
