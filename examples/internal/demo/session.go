package demo

import (
	"strings"

	"github.com/hybridsession/hybridsession/core"
)

// Session value names.
const (
	// CountKey holds the counter, an int.
	CountKey = "count"
	// PrefPrefix starts the name of each preference's value: "pref:theme".
	// Each preference is its own session value, so that concurrent changes
	// of different preferences merge.
	PrefPrefix = "pref:"
)

// Prefs returns the preferences of s by key; never nil.
func Prefs(s *core.Session) map[string]string {
	out := map[string]string{}
	for _, k := range s.Keys() {
		if name, ok := strings.CutPrefix(k, PrefPrefix); ok {
			if v, ok := core.Get[string](s, k); ok {
				out[name] = v
			}
		}
	}
	return out
}
