package core

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

// testRing is a ring of the given secrets (first signs), each 32 bytes of
// its letter.
func testRing(t testing.TB, letters string) *keyring {
	t.Helper()
	var keys []storage.TokenKey
	for _, l := range letters {
		keys = append(keys, storage.ConfigKey(bytes.Repeat([]byte{byte(l)}, storage.MinTokenKeyBytes)))
	}
	r, err := newKeyring(keys, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ringOf gives pickToken the ring r.
func ringOf(r *keyring) func() (*keyring, error) { return func() (*keyring, error) { return r, nil } }

// pickToken asks for the key ring only at a cookie of the session's name,
// and fails with the ring's error there.
func TestPickTokenRingOnDemand(t *testing.T) {
	asked := 0
	unreadable := func() (*keyring, error) { asked++; return nil, ErrUnavailable }
	if _, _, _, err := pickToken([]string{"a=1; sessionx=2"}, "session", unreadable, nil, time.Now()); err != nil || asked != 0 {
		t.Errorf("no session cookie: err %v, ring asked %d times; want nil, 0", err, asked)
	}
	if _, _, _, err := pickToken([]string{"a=1; session=x; session=y"}, "session", unreadable, nil, time.Now()); err != ErrUnavailable || asked != 1 {
		t.Errorf("a session cookie: err %v, ring asked %d times; want ErrUnavailable, 1", err, asked)
	}
}

func TestNewTokenIsAuthenticAndUnique(t *testing.T) {
	r, now := testRing(t, "a"), time.Now()
	seen := map[string]bool{}
	for range 1000 {
		tok := r.newToken()
		if len(tok) != 43 || r.check(tok, now) != tokenAuthentic {
			t.Fatalf("check(%q) = %v for a fresh token; want authentic, 43 characters", tok, r.check(tok, now))
		}
		if seen[tok] {
			t.Fatalf("token %q issued twice", tok)
		}
		seen[tok] = true
	}
}

// A token changed in any bit, or tagged by a key not in the ring, is
// forged; every key of the ring verifies, only the first signs.
func TestTokenTagVerifies(t *testing.T) {
	now := time.Now()
	a, ba, b := testRing(t, "a"), testRing(t, "ba"), testRing(t, "b")
	tok := a.newToken()
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for bit := range 8 {
			tampered := bytes.Clone(raw)
			tampered[i] ^= 1 << bit
			if got := a.check(base64.RawURLEncoding.EncodeToString(tampered), now); got != tokenForged {
				t.Fatalf("byte %d bit %d flipped: check = %v, want forged", i, bit, got)
			}
		}
	}
	if got := b.check(tok, now); got != tokenForged {
		t.Errorf("a token of key a checked by ring [b] = %v, want forged", got)
	}
	if got := ba.check(tok, now); got != tokenAuthentic {
		t.Errorf("a token of key a checked by ring [b a] = %v, want authentic", got)
	}
	if got := a.check(ba.newToken(), now); got != tokenForged {
		t.Errorf("ring [b a] signed with a: check by [a] = %v, want forged (b signs)", got)
	}
}

// Untagged tokens are looked up until the window closes, then forged.
func TestUntaggedTokensWindow(t *testing.T) {
	now := time.Now()
	r := testRing(t, "a")
	r.untaggedUntil = now.Add(time.Hour)
	old := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if got := r.check(old, now); got != tokenUntagged {
		t.Errorf("in the window: check = %v, want untagged", got)
	}
	if got := r.check(old, now.Add(time.Hour)); got != tokenForged {
		t.Errorf("after the window: check = %v, want forged", got)
	}
	if got := r.check(r.newToken(), now); got != tokenAuthentic {
		t.Errorf("a tagged token in the window: check = %v, want authentic", got)
	}
}

// The tag is HMAC-SHA-256, for keys shorter and longer than SHA-256's
// block, also when a tagger is used again.
func TestTagIsHMAC(t *testing.T) {
	for _, n := range []int{storage.MinTokenKeyBytes, 64, 65, 200} {
		secret := bytes.Repeat([]byte{byte(n)}, n)
		k := newRingKey(storage.ConfigKey(secret))
		var b [tokenBytes]byte
		for i := range b {
			b[i] = byte(i * 7)
		}
		var got [tokenTagBytes]byte
		k.tag(&got, &b)
		k.tag(&got, &b)
		mac := hmac.New(sha256.New, secret)
		mac.Write(b[:tokenTagged])
		if want := mac.Sum(nil)[:tokenTagBytes]; !bytes.Equal(got[:], want) {
			t.Errorf("%d-byte key: tag %x, want HMAC-SHA-256 %x", n, got, want)
		}
	}
}

func TestRecordIDHidesToken(t *testing.T) {
	tok := testRing(t, "a").newToken()
	id := storage.RecordID(tok)
	if len(id) != 64 || strings.Contains(id, tok) || storage.RecordID(tok) != id {
		t.Errorf("RecordID(%q) = %q; want 64 hex chars, stable, not containing the token", tok, id)
	}
}

// A key shorter than MinTokenKeyBytes is refused.
func TestShortTokenKeyRefused(t *testing.T) {
	if _, err := newKeyring([]storage.TokenKey{storage.ConfigKey(make([]byte, storage.MinTokenKeyBytes-1))}, time.Time{}, time.Time{}); err == nil {
		t.Error("newKeyring took a 31-byte key")
	}
}

// FuzzTokenCheck checks that only the canonical unpadded base64url
// encodings of 32 bytes have the token shape, and that no fuzzed string is
// taken as authentic.
func FuzzTokenCheck(f *testing.F) {
	r := testRing(f, "a")
	seed := fixedToken(r)
	f.Add(seed)
	f.Add(strings.Repeat("A", 42) + "B")
	f.Add("")
	f.Add(strings.Repeat("/", 43))
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		shaped := err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == s
		got := r.check(s, now)
		if (got != tokenMalformed) != shaped {
			t.Errorf("check(%q) = %v; shaped = %v", s, got, shaped)
		}
		// Authentic only by forging a 64-bit tag: the seed is the one
		// real token.
		if got == tokenAuthentic && s != seed {
			t.Errorf("check(%q) = authentic for a string the ring never tagged", s)
		}
	})
}

// fixedToken is a token of r's signing key whose random part is fixed: the
// fuzzing workers, each a process of its own, agree on it, where each
// would make a different one with newToken.
func fixedToken(r *keyring) string {
	var b [tokenBytes]byte
	b[0] = r.keys[0].id
	for i := 1; i < tokenTagged; i++ {
		b[i] = byte(i)
	}
	var tag [tokenTagBytes]byte
	r.keys[0].tag(&tag, &b)
	copy(b[tokenTagged:], tag[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// FuzzCookieHeader feeds arbitrary Cookie headers to the token scan, which
// attackers reach: it must never panic, and it must only ever pick an
// authentic token of the session's name.
func FuzzCookieHeader(f *testing.F) {
	r := testRing(f, "a")
	f.Add("session=" + r.newToken())
	f.Add(`a=1; session="` + r.newToken() + `"; b`)
	f.Add("session=x; session=" + r.newToken())
	f.Add("session=;session")
	f.Add(";;; session = x ;")
	now := time.Now()
	f.Fuzz(func(t *testing.T, header string) {
		token, _, rejected, _ := pickToken([]string{header}, "session", ringOf(r), nil, now)
		if token != "" && r.check(token, now) != tokenAuthentic || rejected < 0 {
			t.Errorf("pickToken(%q) = %q, %d; want only authentic tokens", header, token, rejected)
		}
	})
}

// The first authentic cookie of the name wins, whatever junk or forgeries
// come first, and the scan stops at its bounds.
func TestPickToken(t *testing.T) {
	r, now := testRing(t, "a"), time.Now()
	real, forged := r.newToken(), testRing(t, "z").newToken()
	many := strings.Repeat("x=1; ", maxCookies) // cookies of other names fill the count
	for _, c := range []struct {
		name     string
		lines    []string
		want     string
		rejected int
	}{
		{"alone", []string{"session=" + real}, real, 0},
		{"quoted", []string{`session="` + real + `"`}, real, 0},
		{"junk first", []string{"session=x; session=" + real}, real, 1},
		{"forged first", []string{"session=" + forged + "; session=" + real}, real, 1},
		{"forged in an earlier header", []string{"session=" + forged, "a=b; session=" + real}, real, 1},
		{"other names", []string{"sessionx=" + real + "; xsession=" + real}, "", 0},
		{"only junk", []string{"session=x; session=" + forged}, "", 2},
		{"past the cookie count", []string{many + "session=" + real}, "", 0},
		{"past the byte budget", []string{"a=" + strings.Repeat("b", maxCookieBytes) + "; session=" + real}, "", 0},
		{"past the candidates", []string{strings.Repeat("session=x; ", maxCandidates) + "session=" + real}, "", maxCandidates},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, rejected, _ := pickToken(c.lines, "session", ringOf(r), nil, now)
			if got != c.want || rejected != c.rejected {
				t.Errorf("pickToken = %q, %d rejected; want %q, %d", got, rejected, c.want, c.rejected)
			}
		})
	}
}

// A 1 MiB Cookie header of 200 000 cookies is read only up to the bounds.
func BenchmarkPickTokenHugeHeader(b *testing.B) {
	r, now := testRing(b, "a"), time.Now()
	header := strings.Repeat("a=b; ", 200_000)
	b.SetBytes(int64(len(header)))
	for b.Loop() {
		pickToken([]string{header}, "session", ringOf(r), nil, now)
	}
}

// The cost of checking one authentic token: decoding and one HMAC.
func BenchmarkTokenCheck(b *testing.B) {
	r, now := testRing(b, "a"), time.Now()
	tok := r.newToken()
	b.ReportAllocs()
	for b.Loop() {
		if r.check(tok, now) != tokenAuthentic {
			b.Fatal("not authentic")
		}
	}
}
