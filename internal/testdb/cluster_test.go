package testdb

import (
	"testing"
)

func TestClusterStopStart(t *testing.T) {
	c := NewCluster(t)
	db, err := OpenDSN(c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	ping := func() error { return db.Exec("SELECT 1").Error }
	if err := ping(); err != nil {
		t.Fatalf("ping a started cluster: %v", err)
	}
	c.Stop()
	if err := ping(); err == nil {
		t.Fatal("ping of a stopped cluster succeeded")
	}
	c.Start()
	if err := ping(); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}
