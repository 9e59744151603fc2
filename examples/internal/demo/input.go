package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input limits.
const (
	// MaxBodySize caps a request body; a larger one is answered 413.
	MaxBodySize = 4 << 10
	// MaxUsername is the longest username, in characters after trimming
	// surrounding white space.
	MaxUsername = 64
	// MaxPrefValue is the longest preference value, in bytes.
	MaxPrefValue = 256
)

// prefKeyPattern is what a preference key must match.
var prefKeyPattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func badRequest(format string, args ...any) *ClientError {
	return &ClientError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// CheckUsername trims white space around name and checks the result: 1 to
// MaxUsername characters of valid UTF-8, without control characters.
func CheckUsername(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return "", badRequest("username is not valid UTF-8")
	case n == 0:
		return "", badRequest("username is required")
	case n > MaxUsername:
		return "", badRequest("username is %d characters long; the limit is %d", n, MaxUsername)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", badRequest("username contains control characters")
	}
	return name, nil
}

// CheckPref checks a preference: the key is 1 to 32 of [a-z0-9_], the
// value at most MaxPrefValue bytes of valid UTF-8 (it may be empty).
func CheckPref(key, value string) error {
	if !prefKeyPattern.MatchString(key) {
		return badRequest("preference key %q must be 1 to 32 characters of a-z, 0-9 and _", key)
	}
	if len(value) > MaxPrefValue {
		return badRequest("preference value is %d bytes long; the limit is %d", len(value), MaxPrefValue)
	}
	if !utf8.ValidString(value) {
		return badRequest("preference value is not valid UTF-8")
	}
	return nil
}

// Login is the input of POST /login, checked.
type Login struct {
	// Username is the user, trimmed and checked by CheckUsername.
	Username string
	// Remember asks for a persistent cookie; true when the body does not
	// say.
	Remember bool
}

// ReadLogin reads and checks the body of POST /login: JSON {"username":
// "...", "remember": bool} or a form with the same fields. In a form the
// last remember counts: the page sends a hidden remember=false before its
// checkbox.
func ReadLogin(r *http.Request) (Login, error) {
	var in struct {
		Username *string `json:"username"`
		Remember *bool   `json:"remember"`
	}
	err := decodeBody(r, &in, func(f form) error {
		if err := f.checkFields("username", "remember"); err != nil {
			return err
		}
		if u, ok, err := f.only("username"); err != nil {
			return err
		} else if ok {
			in.Username = &u
		}
		if v, ok := f.last("remember"); ok {
			b, err := parseFormBool("remember", v)
			if err != nil {
				return err
			}
			in.Remember = &b
		}
		return nil
	})
	if err != nil {
		return Login{}, err
	}
	if in.Username == nil {
		return Login{}, badRequest("username is required")
	}
	name, err := CheckUsername(*in.Username)
	if err != nil {
		return Login{}, err
	}
	return Login{Username: name, Remember: in.Remember == nil || *in.Remember}, nil
}

// Pref is one preference, checked by CheckPref.
type Pref struct {
	Key, Value string
}

// ReadPref reads the body of PUT /prefs/{key}, JSON {"value": "..."} or a
// form with a value field, and checks the preference it sets.
func ReadPref(r *http.Request, key string) (Pref, error) {
	var in struct {
		Value *string `json:"value"`
	}
	err := decodeBody(r, &in, func(f form) error {
		if err := f.checkFields("value"); err != nil {
			return err
		}
		if v, ok, err := f.only("value"); err != nil {
			return err
		} else if ok {
			in.Value = &v
		}
		return nil
	})
	if err != nil {
		return Pref{}, err
	}
	return checkPref(key, in.Value)
}

// ReadPrefForm reads and checks the body of POST /prefs, the page's way to
// set a preference, since an HTML form cannot put the key into the path: a
// form (or JSON object) with key and value fields.
func ReadPrefForm(r *http.Request) (Pref, error) {
	var in struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	err := decodeBody(r, &in, func(f form) error {
		if err := f.checkFields("key", "value"); err != nil {
			return err
		}
		for name, dst := range map[string]**string{"key": &in.Key, "value": &in.Value} {
			if v, ok, err := f.only(name); err != nil {
				return err
			} else if ok {
				*dst = &v
			}
		}
		return nil
	})
	if err != nil {
		return Pref{}, err
	}
	if in.Key == nil {
		return Pref{}, badRequest("key is required")
	}
	return checkPref(*in.Key, in.Value)
}

func checkPref(key string, value *string) (Pref, error) {
	if value == nil {
		return Pref{}, badRequest("value is required")
	}
	if err := CheckPref(key, *value); err != nil {
		return Pref{}, err
	}
	return Pref{Key: key, Value: *value}, nil
}

// form is the fields of a url-encoded request body.
type form url.Values

// decodeBody reads r's body, at most MaxBodySize bytes, as JSON into
// jsonDst or as a url-encoded form handed to fromForm, by Content-Type. A
// body without a Content-Type is read as JSON. Unknown JSON fields,
// trailing data and fields of the wrong type are errors.
func decodeBody(r *http.Request, jsonDst any, fromForm func(form) error) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		return badRequest("cannot read the request body: %v", err)
	}
	if len(body) > MaxBodySize {
		return &ClientError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodySize)}
	}
	switch mediaType(r) {
	case "application/x-www-form-urlencoded":
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			// curl -d sends JSON with this Content-Type unless told otherwise.
			return badRequest("the body looks like JSON but its Content-Type is a form; send Content-Type: application/json (curl --json)")
		}
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return badRequest("malformed form body")
		}
		return fromForm(form(values))
	case "", "application/json":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(jsonDst); err != nil {
			return badRequest("malformed JSON body: %s", jsonError(err))
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return badRequest("malformed JSON body: data after the JSON object")
		}
		return nil
	default:
		return &ClientError{http.StatusUnsupportedMediaType, "send application/json or a url-encoded form"}
	}
}

// jsonError says what is wrong with a JSON body without echoing Go types.
func jsonError(err error) string {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field)
	case errors.As(err, &typeErr):
		return "want a JSON object"
	}
	return err.Error()
}

// mediaType is r's Content-Type without parameters, lower case; "" when
// there is none.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "invalid"
	}
	return mt
}

// IsBrowserForm reports whether r is a form post from a browser: a
// url-encoded body and an Accept header that asks for HTML. Such requests
// are answered with a redirect to the page and a flash message; every other
// client gets JSON.
func IsBrowserForm(r *http.Request) bool {
	return mediaType(r) == "application/x-www-form-urlencoded" &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// last returns the last value of a form field and whether there was one.
func (f form) last(key string) (string, bool) {
	vs := f[key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// only returns a form field that must be given at most once.
func (f form) only(key string) (string, bool, error) {
	vs := f[key]
	switch len(vs) {
	case 0:
		return "", false, nil
	case 1:
		return vs[0], true, nil
	}
	return "", false, badRequest("form field %q given %d times", key, len(vs))
}

// checkFields rejects form fields other than the allowed ones, as unknown
// JSON fields are.
func (f form) checkFields(allowed ...string) error {
	for k := range f {
		if !slices.Contains(allowed, k) {
			return badRequest("unknown form field %q", k)
		}
	}
	return nil
}

// parseFormBool reads a checkbox-style boolean: true, on, 1 or yes; false,
// off, 0 or no.
func parseFormBool(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "on", "1", "yes":
		return true, nil
	case "false", "off", "0", "no":
		return false, nil
	}
	return false, badRequest("form field %q is %q; want true or false", key, v)
}
