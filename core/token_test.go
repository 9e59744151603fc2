package core

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func TestNewTokenIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := newToken()
		if !validToken(tok) {
			t.Fatalf("validToken(%q) = false for a fresh token", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q issued twice", tok)
		}
		seen[tok] = true
	}
}

func TestRecordIDHidesToken(t *testing.T) {
	tok := newToken()
	id := RecordID(tok)
	if len(id) != 64 || strings.Contains(id, tok) || RecordID(tok) != id {
		t.Errorf("RecordID(%q) = %q; want 64 hex chars, stable, not containing the token", tok, id)
	}
}

// FuzzValidToken checks that validToken accepts exactly the canonical
// unpadded base64url encodings of 32 bytes.
func FuzzValidToken(f *testing.F) {
	f.Add(newToken())
	f.Add(strings.Repeat("A", 42) + "B")
	f.Add("")
	f.Add(strings.Repeat("/", 43))
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		want := err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == s
		if got := validToken(s); got != want {
			t.Errorf("validToken(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzCookieHeader feeds arbitrary Cookie headers to the token scan, which
// attackers reach: it must never panic, and it must only ever accept a
// value of the exact token shape.
func FuzzCookieHeader(f *testing.F) {
	f.Add("session=" + newToken())
	f.Add(`a=1; session="` + newToken() + `"; b`)
	f.Add("session=;session")
	f.Add(";;; session = x ;")
	m, err := NewManager(nopStore{}, Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		token, sent := m.tokenFromRequest(r)
		if token != "" && (!sent || !validToken(token)) {
			t.Errorf("tokenFromRequest(%q) = %q, %v; want only valid tokens", header, token, sent)
		}
	})
}

// nopStore is a Store that is never called.
type nopStore struct{ Store }
