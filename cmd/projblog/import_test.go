package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/posts"
)

// TestSeedExportImportRoundTrip seeds a small data set, exports it, imports
// the export into an empty database and exports that again: the two exports
// must say the same, file by file. Only what an import cannot know differs:
// the project's creation time and each post's revision count (revisions are
// not exported).
func TestSeedExportImportRoundTrip(t *testing.T) {
	src := t.TempDir()
	r := mustRun(t, "", "seed", "--data", src, "--posts", "300", "--users", "12", "--projects", "3", "--seed", "7", "--until", "2026-06-01")
	if !strings.Contains(r.stdout, "300 posts") {
		t.Fatalf("seed: %s", r)
	}
	// The same seed gives the same data.
	again := t.TempDir()
	mustRun(t, "", "seed", "--data", again, "--posts", "300", "--users", "12", "--projects", "3", "--seed", "7", "--until", "2026-06-01")
	// A post in the trash and a pinned one travel too.
	seed(t, src, func(s *services) {
		pg, err := s.posts.Recent(systemActor, "", 5)
		if err != nil || len(pg.Posts) < 2 {
			t.Fatalf("recent: %v %d", err, len(pg.Posts))
		}
		if err := s.posts.DeletePost(systemActor, pg.Posts[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.posts.SetPinned(systemActor, pg.Posts[1].ID, true); err != nil {
			t.Fatal(err)
		}
		// A post with an image its text shows and a file it does not link.
		slug := pg.Posts[2].ProjectID
		pv, err := s.posts.ProjectByID(systemActor, slug)
		if err != nil {
			t.Fatal(err)
		}
		author := access.Actor{UserID: pg.Posts[2].AuthorID}
		img, err := s.posts.AddAttachment(author, pv.Slug, 0, "chart.png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.posts.CreatePost(author, pv.Slug, posts.PostInput{Title: "With files", Body: "See " + img.Markdown() + "."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.posts.AddAttachment(author, pv.Slug, p.ID, "notes.txt", []byte("plain notes\n")); err != nil {
			t.Fatal(err)
		}
	})

	out1 := filepath.Join(t.TempDir(), "one")
	mustRun(t, "", "export", out1, "--data", src)
	out1b := filepath.Join(t.TempDir(), "oneb")
	mustRun(t, "", "export", out1b, "--data", again)

	dst := t.TempDir()
	r = mustRun(t, "", "import", "export", out1, "--data", dst, "--dry-run")
	if !strings.Contains(r.stdout, "nothing written") {
		t.Fatalf("dry run: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dst, "projblog.db")); err == nil {
		t.Fatal("a dry run created the database")
	}
	r = mustRun(t, "", "import", "export", out1, "--data", dst)
	if !strings.Contains(r.stdout, "imported 301 posts") || !strings.Contains(r.stdout, "0 posts were already there") {
		t.Fatalf("import: %s", r)
	}
	r = mustRun(t, "", "import", "export", out1, "--data", dst)
	if !strings.Contains(r.stdout, "imported 0 posts") || !strings.Contains(r.stdout, "301 posts were already there") {
		t.Fatalf("second import: %s", r)
	}
	out2 := filepath.Join(t.TempDir(), "two")
	mustRun(t, "", "export", out2, "--data", dst)

	ignore := regexp.MustCompile(`(?m)^(created|revision): .*\n`)
	a, b := readTree(t, out1), readTree(t, out2)
	if !strings.Contains(strings.Join(values(b), ""), "plain notes") {
		t.Error("the re-export lacks the attachment's bytes")
	}
	if len(a) != len(b) || len(a) < 303 {
		t.Fatalf("export has %d files, re-export %d", len(a), len(b))
	}
	differ := 0
	for name, want := range a {
		got, ok := b[name]
		if !ok {
			t.Errorf("re-export lacks %s", name)
			continue
		}
		if !strings.HasSuffix(name, "project.md") {
			// created: of a post is kept; only project.md's is not.
			want, got = regexp.MustCompile(`(?m)^revision: .*\n`).ReplaceAllString(want, ""), regexp.MustCompile(`(?m)^revision: .*\n`).ReplaceAllString(got, "")
		} else {
			want, got = ignore.ReplaceAllString(want, ""), ignore.ReplaceAllString(got, "")
		}
		if want != got {
			differ++
			if differ < 3 {
				t.Errorf("%s differs after the round trip:\n--- export\n%s\n--- re-export\n%s", name, want, got)
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d files differ", differ)
	}
	// out1 has one post deleted and one pinned since, and one more post
	// with two files; the rest is equal.
	c := readTree(t, out1b)
	same := 0
	for name, v := range c {
		if strings.HasSuffix(name, "project.md") {
			v = ignore.ReplaceAllString(v, "")
			if ignore.ReplaceAllString(a[name], "") == v {
				same++
			}
		} else if a[name] == v {
			same++
		}
	}
	if len(c) != len(a)-3 || same < len(c)-2 {
		t.Errorf("the same seed gave %d files, then %d with %d equal", len(a), len(c), same)
	}
	// Comments with replies and decisions were part of it.
	all := strings.Join(values(a), "\n")
	for _, want := range []string{"(reply to comment 1)", "decision: true", "health: at_risk", "draft: true", "deleted: true", "pinned: true"} {
		if !strings.Contains(all, want) {
			t.Errorf("the seeded export has no %q", want)
		}
	}
}

func TestImportRefusesBadExports(t *testing.T) {
	dir := t.TempDir()
	wantFail(t, runCLI(t, "", "import", "csv", dir, "--data", t.TempDir()), 2, "export, mbox, eml and maildir")
	wantFail(t, runCLI(t, "", "import", "export", dir, "--data", t.TempDir()), 1, "no exported project")
	p := filepath.Join(dir, "x")
	if err := os.MkdirAll(p, 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p, "project.md"), []byte("---\nname: \"X\"\nslug: \"xx\"\nvisibility: internal\nmembers:\n  - {user: \"A <a@example.com>\", role: owner}\n---\n\n# X\n"), 0o640)
	os.WriteFile(filepath.Join(p, "2024-01-01-a.md"), []byte("---\ntitle: \"A\"\nauthor: \"A <a@example.com>\"\ncreated: 2024-01-01T00:00:00Z\ncomments: 2\n---\n\nbody\n"), 0o640)
	wantFail(t, runCLI(t, "", "import", "export", dir, "--data", t.TempDir()), 1, "2024-01-01-a.md", "comments")
	os.WriteFile(filepath.Join(p, "2024-01-01-a.md"), []byte("---\ntitle: \"\"\nauthor: \"A <a@example.com>\"\ncreated: 2024-01-01T00:00:00Z\n---\n\nbody\n"), 0o640)
	wantFail(t, runCLI(t, "", "import", "export", dir, "--data", t.TempDir()), 1, "title")
	// A post too long for the post form is refused with the form's message,
	// and nothing of its batch is stored.
	os.WriteFile(filepath.Join(p, "2024-01-01-a.md"), []byte("---\ntitle: \""+strings.Repeat("x", posts.MaxTitleRunes+1)+"\"\nauthor: \"A <a@example.com>\"\ncreated: 2024-01-01T00:00:00Z\n---\n\nbody\n"), 0o640)
	data := t.TempDir()
	wantFail(t, runCLI(t, "", "import", "export", dir, "--data", data), 1, "post 1")
}

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		// Attachments get new ids in a new database.
		out[fileIDs.ReplaceAllString(rel, "files/N-")] = fileIDs.ReplaceAllString(fileLinks.ReplaceAllString(jsonIDs.ReplaceAllString(string(b), `"id":N`), "/files/N/"), "files/N-")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	fileIDs   = regexp.MustCompile(`files/\d+-`)
	fileLinks = regexp.MustCompile(`/files/\d+/`)
	jsonIDs   = regexp.MustCompile(`"id":\d+`)
)

// pngBytes is a 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
