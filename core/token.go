package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// tokenBytes is the entropy of a session token.
const tokenBytes = 32

// tokenLen is the length of a token's text: 32 bytes in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

var strictEncoding = base64.RawURLEncoding.Strict()

// newToken returns a fresh random session token.
func newToken() string {
	var b [tokenBytes]byte
	rand.Read(b[:]) // never returns an error; it crashes the program if the OS has no randomness
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken reports whether s has exactly the shape of a token this package
// issues: 43 characters of unpadded, canonical base64url encoding 32 bytes.
// Anything else is rejected before the store or the cache is consulted.
func validToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	var b [tokenBytes]byte
	n, err := strictEncoding.Decode(b[:], []byte(s))
	return err == nil && n == tokenBytes
}

// RecordID returns the store key of a token: the hex SHA-256 of the token.
// Stores, caches and logs only ever see this, never the token itself.
func RecordID(token string) string {
	sum := sha256.Sum256([]byte(token))
	var id [2 * sha256.Size]byte
	hex.Encode(id[:], sum[:])
	return string(id[:])
}
