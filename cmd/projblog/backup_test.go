package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/store"
)

// TestBackupWhileServing: `projblog backup` reaches the running server
// through its control socket and gets a consistent copy; `restore` checks
// it and puts it in place once the server is stopped.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	mustRun(t, "", "project", "add", "apollo", "--name", "Apollo", "--owner", "ada@example.com", "--data", dir)
	mustRun(t, "Body.\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "Before the backup", "--data", dir)

	srv := startServe(t, dir)
	out := filepath.Join(t.TempDir(), "backup.db")
	r := mustRun(t, "", "backup", out, "--data", dir)
	if !strings.Contains(r.stdout, "from the running server") {
		t.Fatalf("backup did not go through the server: %s", r)
	}
	srv.stop()
	if _, err := os.Stat(filepath.Join(dir, socketName)); !os.IsNotExist(err) {
		t.Errorf("the control socket is left behind: %v", err)
	}

	// A post written after the backup is gone after the restore.
	mustRun(t, "Later.\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "After the backup", "--data", dir)
	r = mustRun(t, "", "restore", out, "--data", dir)
	if !strings.Contains(r.stdout, "1 projects, 1 posts") {
		t.Fatalf("restore summary: %s", r)
	}
	s := mustOpenDB(t, dir)
	defer s.Close()
	ada := s.userByEmail(t, "ada@example.com")
	_, page, err := s.posts.ProjectPosts(ada.Actor(), "apollo", "", 10)
	if err != nil || len(page.Posts) != 1 || page.Posts[0].Title != "Before the backup" {
		t.Fatalf("after restore: %v, %v", page.Posts, err)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, store.FileName+".before-restore-*"))
	if len(kept) != 1 {
		t.Fatalf("the previous database was not kept: %v", kept)
	}
}

func TestBackupServerStoppedAndRestoreRefusals(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	out := filepath.Join(t.TempDir(), "b.db")
	if r := mustRun(t, "", "backup", out, "--data", dir); !strings.Contains(r.stdout, "server stopped") {
		t.Fatalf("backup: %s", r)
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database at all"), 0o600)
	wantFail(t, runCLI(t, "", "restore", junk, "--data", dir), 1, "not a usable backup")
	wantFail(t, runCLI(t, "", "backup", "--data", dir), 2, "FILE")
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir, func(s *services) {
		ada := s.addUser(t, "ada@example.com", "Ada Lovelace", false)
		if _, err := s.posts.CreateProject(ada.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Description: "Moon.", Visibility: access.Private}, ada.ID); err != nil {
			t.Fatal(err)
		}
		p, err := s.posts.CreatePost(ada.Actor(), "apollo", posts.PostInput{Title: `Plan "A"`, Body: "# Plan\n\nGo.", Tags: []string{"launch"}, Health: posts.AtRisk})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.posts.AddComment(ada.Actor(), p.ID, posts.CommentInput{Body: "Agreed."}); err != nil {
			t.Fatal(err)
		}
	})
	out := filepath.Join(t.TempDir(), "export")
	r := mustRun(t, "", "export", out, "--data", dir)
	if !strings.Contains(r.stdout, "1 projects and 1 posts") {
		t.Fatalf("export: %s", r)
	}
	files, _ := filepath.Glob(filepath.Join(out, "apollo", "*-plan-a.md"))
	if len(files) != 1 {
		t.Fatalf("post files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	for _, want := range []string{"title: \"Plan \\\"A\\\"\"", "author: \"Ada Lovelace <ada@example.com>\"", "tags: [\"launch\"]", "health: at_risk", "# Plan", "## Comments", "Agreed."} {
		if !strings.Contains(string(b), want) {
			t.Errorf("export lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "apollo", "project.md")); err != nil {
		t.Error("no project.md")
	}
	wantFail(t, runCLI(t, "", "export", out, "--data", dir), 1, "not empty")
}
