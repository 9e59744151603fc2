package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/internal/testdb"
)

// TestWriterKilledAfterCommit: an instance killed (SIGKILL) the moment it
// answered a write or a logout loses nothing of it for the others. The
// announcement is part of the write's own transaction (the table's trigger
// notifies at commit), so there is no moment between commit and
// announcement in which a crash could keep another instance's cache stale.
func TestWriterKilledAfterCommit(t *testing.T) {
	dsn := testdb.NewPostgres(t)
	reader := startApp(t, "gin", dsn, 0)
	c := newClient(t)
	var ds delays
	for i := range 3 {
		writer := startApp(t, "gin", dsn, i+1)
		tok := c.login(t, reader.base, fmt.Sprintf("crash-%d", i))
		c.expect(t, http.StatusOK, http.MethodGet, reader.base+"/counter", tok, "") // cached on the reader
		want := count(t, c.expect(t, http.StatusOK, http.MethodPost, writer.base+"/counter", tok, ""))
		if err := writer.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		d, polls := await(t, start, fmt.Sprintf("count %d on %s after %s was killed", want, reader.name, writer.name), func() (bool, string) {
			r := c.expect(t, http.StatusOK, http.MethodGet, reader.base+"/counter", tok, "")
			return count(t, r) == want, r.String()
		})
		ds.add(d, polls)

		// A logout, then the same.
		writer = startApp(t, "gin", dsn, 10+i)
		c.expect(t, http.StatusOK, http.MethodGet, reader.base+"/me", tok, "")
		c.expect(t, http.StatusOK, http.MethodPost, writer.base+"/logout", tok, "")
		if err := writer.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		d, polls = await(t, start, fmt.Sprintf("logout seen on %s after %s was killed", reader.name, writer.name), func() (bool, string) {
			r := c.must(t, http.MethodGet, reader.base+"/me", tok, "")
			return r.status == http.StatusUnauthorized, r.String()
		})
		ds.add(d, polls)
	}
	t.Logf("write or logout, writer killed at once → seen on the other instance: %v", &ds)
}

// TestSQLiteFileBelongsToOneProcess: a second app process on the SQLite
// file of a running one refuses to start, with a non-zero exit and a
// message that names the file, instead of serving sessions the first one
// changed or logged out from a cache nobody keeps coherent.
func TestSQLiteFileBelongsToOneProcess(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sessions.db")
	first := startApp(t, "gin", file, 1)
	cl := newClient(t)
	tok := cl.login(t, first.base, "one")
	_, err := tryStart(t, binary(t, "echo"), "echo#2", file)
	if err == nil || !strings.Contains(err.Error(), "exited before it was healthy") || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second process on %s: %v; want it to exit, naming the file", file, err)
	}
	// The first one still serves.
	cl.expect(t, http.StatusOK, http.MethodGet, first.base+"/me", tok, "")
}
