// Package adaptertest holds the behavioural tests and benchmarks that run
// the same requests against the plain net/http middleware of core, against
// ginsession and against echosession, with the frameworks' real engines, so
// that the three behave alike. It has no API; see its test files.
package adaptertest
