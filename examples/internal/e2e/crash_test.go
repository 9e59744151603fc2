package e2e

import (
	"fmt"
	"net/http"
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
