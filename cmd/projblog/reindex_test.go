package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/search"
)

// searchFixture makes a data directory with a public project and two posts.
func searchFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	mustRun(t, "", "project", "add", "apollo", "--name", "Apollo", "--visibility", "public", "--owner", "ada@example.com", "--data", dir)
	mustRun(t, "We chose the theodolite.\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "Survey tools", "--data", dir)
	mustRun(t, "Nothing else.\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "Other", "--data", dir)
	return dir
}

// searchFor opens dir's database and index and searches as an anonymous
// reader; it also returns the index's position and the log's head.
func searchFor(t *testing.T, dir, text string) (*search.Results, uint64, uint64) {
	t.Helper()
	s := mustOpenDB(t, dir)
	defer s.Close()
	ix, err := search.Open(filepath.Join(dir, "search"), s.db, s.posts, search.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	res, err := ix.Search(access.Anonymous, search.Query{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return res, ix.Position(), s.db.Head()
}

func TestReindex(t *testing.T) {
	dir := searchFixture(t)
	r := mustRun(t, "", "reindex", "--data", dir)
	if !strings.HasPrefix(r.stdout, "search index rebuilt: 2 posts with their comments in ") {
		t.Errorf("stdout %q", r.stdout)
	}
	// Not a terminal: plain progress lines, no carriage returns.
	if !strings.Contains(r.stderr, "indexing posts: 2/2 (100%)\n") || strings.Contains(r.stderr, "\r") {
		t.Errorf("stderr %q", r.stderr)
	}
	res, pos, head := searchFor(t, dir, "theodolites")
	if res.Total != 1 || res.Hits[0].Title != "Survey tools" || pos != head {
		t.Errorf("after reindex: %d hits, position %d, head %d", res.Total, pos, head)
	}

	// A broken index is replaced.
	if err := os.WriteFile(filepath.Join(dir, "search", "index_meta.json"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, "", "reindex", "--data", dir)
	if !strings.Contains(r.stderr, "rebuilding") {
		t.Errorf("the broken index was not reported: %q", r.stderr)
	}
	if res, _, _ := searchFor(t, dir, "theodolite"); res.Total != 1 {
		t.Errorf("after reindexing a broken index: %d hits", res.Total)
	}

	wantFail(t, runCLI(t, "", "reindex", "extra", "--data", dir), 2, "no arguments")
	if r := runCLI(t, "", "reindex", "--help"); r.code != 0 || !strings.Contains(r.stderr, "Usage: projblog reindex") {
		t.Errorf("reindex --help: %v", r)
	}
	if r := runCLI(t, "", "help"); !strings.Contains(r.stdout, "projblog reindex") {
		t.Errorf("help does not list reindex:\n%s", r.stdout)
	}
}

// TestServeSearch: serve builds the index itself, also when the one on disk
// cannot be read (it says so and starts anyway), and then follows new
// posts.
func TestServeSearch(t *testing.T) {
	t.Parallel()
	dir := searchFixture(t)
	if err := os.MkdirAll(filepath.Join(dir, "search"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "search", "index_meta.json"), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(mustRun(t, "", "token", "add", "ada@example.com", "--scope", "read", "--data", dir).stdout)
	srv := startServe(t, dir)
	// Through the API: its answers are never cached, so each poll sees
	// the index as it is.
	var last string
	found := func(q string) bool {
		req, _ := http.NewRequest(http.MethodGet, srv.url+"/api/v1/search?q="+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		last = readAll(t, resp.Body)
		return resp.StatusCode == http.StatusOK && !strings.Contains(last, `"total":0`)
	}
	waitFor := func(q string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !found(q) {
			if time.Now().After(deadline) {
				t.Fatalf("%q is not found\nstderr:\n%s\nlast answer: %s", q, srv.stderr.String(), last)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("theodolite")
	// The log is written out every 50 ms (serve.go's logWriter).
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(srv.stderr.String(), "search index cannot be read; rebuilding it"); {
		if time.Now().After(deadline) {
			t.Errorf("the broken index was not logged:\n%s", srv.stderr.String())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.stop()

	// Written while the server was stopped: found after the next start.
	mustRun(t, "The sextant too.\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "More tools", "--data", dir)
	srv = startServe(t, dir)
	waitFor("sextant")
	srv.stop()
}

// TestServeNoSearch: --no-search serves everything but search, which
// answers 503 with a readable message, and builds no index.
func TestServeNoSearch(t *testing.T) {
	t.Parallel()
	dir := searchFixture(t)
	srv := startServe(t, dir, "--no-search")
	resp, err := http.Get(srv.url + "/search?q=launch")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(body), "search") {
		t.Fatalf("/search without an index: %d\n%s", resp.StatusCode, body)
	}
	if resp, err := http.Get(srv.url + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("home without search: %v %v", err, resp)
	}
	if _, err := os.Stat(filepath.Join(dir, "search")); err == nil {
		t.Error("serve --no-search created a search index")
	}
}

// TestServeDebugListen: --debug-listen serves Go's profiler on its own
// address, and the site itself never does.
func TestServeDebugListen(t *testing.T) {
	t.Parallel()
	dir := searchFixture(t)
	debug := "127.0.0.1:" + strconv.Itoa(freePort(t))
	srv := startServe(t, dir, "--no-search", "--debug-listen", debug)
	resp, err := http.Get("http://" + debug + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "serve") {
		t.Fatalf("profiler: %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get(srv.url + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the site answers /debug/pprof/ with %d", resp.StatusCode)
	}
}
