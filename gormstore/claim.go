package gormstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"gorm.io/gorm"
)

// An SQLite file's sessions belong to one process: its cache is not
// told of another process's changes, so a second process on the file
// could serve a session the first one logged out. Migrate therefore
// claims the file for this process with an exclusive lock on a file next
// to it (<file>-hybridsession.lock), held until the process exits, and
// fails in any other process. Stores of one process may share a file.
var claims struct {
	sync.Mutex
	held map[string]*os.File // by absolute database path
}

// claimSQLite claims the main database file of db for this process.
func claimSQLite(db *gorm.DB) error {
	var rows []struct {
		Name string
		File string
	}
	if err := db.Raw("SELECT name, file FROM pragma_database_list").Scan(&rows).Error; err != nil {
		return fmt.Errorf("find the database file: %w", err)
	}
	path := ""
	for _, r := range rows {
		if r.Name == "main" {
			path = r.File
		}
	}
	if path == "" {
		return nil // in memory: nobody else can open it
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	claims.Lock()
	defer claims.Unlock()
	if claims.held[path] != nil {
		return nil
	}
	f, err := os.OpenFile(path+"-hybridsession.lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("claim %s: %w", path, err)
	}
	if err := lockExclusive(f); err != nil {
		f.Close()
		return fmt.Errorf("%s is in use by another process (%w): the sessions of an SQLite file belong to one process, whose cache no other process could keep coherent; give each process its own file, or share sessions through PostgreSQL", path, err)
	}
	if claims.held == nil {
		claims.held = map[string]*os.File{}
	}
	claims.held[path] = f
	return nil
}
