package demo

import (
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
