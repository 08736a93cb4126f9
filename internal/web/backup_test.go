package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/store"
)

func TestAdminBackupDownload(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@example.com", "Ada Admin", true)
	e.project(admin, "apollo", access.Private)
	e.post(admin, "apollo", "Kept in the backup", "x")
	res := e.client().login("admin@example.com").get("/admin/backup")
	if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("backup: %d %v", res.Status, res.Header)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, store.FileName), []byte(res.Body), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dir, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("the downloaded backup does not open: %v", err)
	}
	defer db.Close()
	if db.Head() != e.db.Head() {
		t.Fatalf("backup head %d, live head %d", db.Head(), e.db.Head())
	}
}
