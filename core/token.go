package core

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

// A token is 32 bytes, sent as 43 characters of unpadded base64url:
//
//	[0]      the id of the key that tagged it
//	[1:24]   184 random bits
//	[24:32]  the first 64 bits of HMAC-SHA-256(key, token[0:24])
//
// The tag lets a request's cookie be checked before the cache or the store
// is asked: a forged token costs one HMAC, never a lookup. The record id is
// the SHA-256 of the whole token, as it was before tokens were tagged.
const (
	tokenBytes    = 32
	tokenTagged   = 24 // the bytes the tag covers: key id and random bits
	tokenTagBytes = tokenBytes - tokenTagged
)

// tokenLen is the length of a token's text: 32 bytes in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

var strictEncoding = base64.RawURLEncoding.Strict()

// ringKey is a TokenKey ready to tag: a pool of HMACs, which keep the
// key's padded states between uses, so that a tag costs two SHA-256
// blocks rather than four.
type ringKey struct {
	id      byte
	taggers sync.Pool // of *tagger
}

// tagger is an HMAC with buffers of its own: what is passed to a
// hash.Hash escapes, so buffers on the caller's stack would cost an
// allocation per token, on the path of every request.
type tagger struct {
	mac hash.Hash
	msg [tokenTagged]byte
	sum [sha256.Size]byte
}

func newRingKey(k storage.TokenKey) *ringKey {
	secret := bytes.Clone(k.Secret)
	rk := &ringKey{id: k.ID}
	rk.taggers.New = func() any { return &tagger{mac: hmac.New(sha256.New, secret)} }
	return rk
}

// tag writes the tag of b[:tokenTagged] into dst.
func (k *ringKey) tag(dst *[tokenTagBytes]byte, b *[tokenBytes]byte) {
	t := k.taggers.Get().(*tagger)
	copy(t.msg[:], b[:tokenTagged])
	t.mac.Reset()
	t.mac.Write(t.msg[:])
	copy(dst[:], t.mac.Sum(t.sum[:0]))
	k.taggers.Put(t)
}

// keyring is the keys as one load gave them.
type keyring struct {
	keys          []*ringKey // keys[0] signs
	untaggedUntil time.Time  // untagged tokens are looked up before this
	stale         time.Time  // when to read a KeyStore's keys again
}

// newToken returns a fresh session token tagged with the signing key.
func (r *keyring) newToken() string {
	var b [tokenBytes]byte
	rand.Read(b[1:tokenTagged]) // never returns an error; it crashes the program if the OS has no randomness
	k := r.keys[0]
	b[0] = k.id
	var tag [tokenTagBytes]byte
	k.tag(&tag, &b)
	copy(b[tokenTagged:], tag[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenCheck is what checking a cookie value found.
type tokenCheck int

const (
	tokenMalformed tokenCheck = iota // not the shape of a token
	tokenForged                      // the shape, but no key tagged it
	tokenUntagged                    // no key tagged it, and untagged tokens are still looked up
	tokenAuthentic                   // a key of the ring tagged it
)

// check tells what s is: the tag is compared in constant time.
func (r *keyring) check(s string, now time.Time) tokenCheck {
	if len(s) != tokenLen {
		return tokenMalformed
	}
	var b [tokenBytes]byte
	if n, err := strictEncoding.Decode(b[:], []byte(s)); err != nil || n != tokenBytes {
		return tokenMalformed
	}
	var tag [tokenTagBytes]byte
	for _, k := range r.keys {
		if k.id != b[0] {
			continue
		}
		k.tag(&tag, &b)
		if hmac.Equal(tag[:], b[tokenTagged:]) {
			return tokenAuthentic
		}
	}
	if now.Before(r.untaggedUntil) {
		return tokenUntagged
	}
	return tokenForged
}

// newKeyring builds a ring of keys, checking their secrets.
func newKeyring(keys []storage.TokenKey, untaggedUntil, stale time.Time) (*keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("core: no token keys")
	}
	r := &keyring{untaggedUntil: untaggedUntil, stale: stale}
	for i, k := range keys {
		if len(k.Secret) < storage.MinTokenKeyBytes {
			return nil, fmt.Errorf("core: token key %d is %d bytes; it takes at least %d", i+1, len(k.Secret), storage.MinTokenKeyBytes)
		}
		r.keys = append(r.keys, newRingKey(k))
	}
	return r, nil
}
