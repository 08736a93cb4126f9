package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// TestMain clears the PROJBLOG_* environment, so a developer's settings
// (PROJBLOG_DATA, PROJBLOG_BASE_URL, ...) cannot change what the tests
// see, and removes the binary the serve tests build.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PROJBLOG_") {
			os.Unsetenv(name)
		}
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// result is what one command line left behind.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs one command line through run, in this process, with stdin as
// standard input.
func runCLI(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs a command line that must succeed.
func mustRun(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	r := runCLI(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("projblog %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// wantFail checks that r exited with code and that its standard error is
// one "projblog: ..." line containing every one of msgs.
func wantFail(t testing.TB, r result, code int, msgs ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%v", r.code, code, r)
	}
	if r.stdout != "" {
		t.Errorf("a failing command wrote to stdout: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "projblog: ") {
		t.Errorf("stderr has no \"projblog: \" message:\n%s", r.stderr)
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("stderr does not mention %q:\n%s", m, r.stderr)
		}
	}
}

const testPassword = "correct horse battery"

// seed opens the database in dir, lets fill write fixtures through the
// services (at bcrypt.MinCost: the CLI's own cost is slow under -race), and
// closes it again so a command can open it.
func seed(t testing.TB, dir string, fill func(s *services)) {
	t.Helper()
	s := mustOpenDB(t, dir)
	defer s.Close()
	fill(s)
}

// addUser creates an active account with testPassword.
func (s *services) addUser(tb testing.TB, email, name string, admin bool) *users.User {
	tb.Helper()
	u, err := s.users.Create(users.NewUser{Email: email, Name: name, Password: testPassword, Admin: admin})
	if err != nil {
		tb.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// services is the database of a data directory opened the way the server
// opens it, for checking what a command wrote.
type services struct {
	db    *store.DB
	users *users.Service
	posts *posts.Service
}

// mustOpenDB opens the database in dir. It fails the test if the file is
// still locked, so it also proves the last command closed it. The database
// is closed when the test ends; call Close to release it earlier.
func mustOpenDB(tb testing.TB, dir string) *services {
	tb.Helper()
	db, err := store.Open(dir, store.Options{Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	u, err := users.New(db, users.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := posts.New(db, posts.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return &services{db: db, users: u, posts: p}
}

func (s *services) Close() { s.db.Close() }

// userByEmail returns the account, failing the test if there is none.
func (s *services) userByEmail(tb testing.TB, email string) *users.User {
	tb.Helper()
	u, err := s.users.ByEmail(email)
	if err != nil {
		tb.Fatalf("ByEmail(%s): %v", email, err)
	}
	return u
}

// usersMessage returns the person-facing message the users package gives
// when asked to create in, so tests compare against the package's own
// words rather than a copy of them.
func usersMessage(tb testing.TB, in users.NewUser) string {
	tb.Helper()
	s := mustOpenDB(tb, tb.TempDir())
	defer s.Close()
	_, err := s.users.Create(in)
	if err == nil {
		tb.Fatalf("users.Create(%+v) succeeded; want an error", in)
	}
	var e *apperr.Error
	if errors.As(err, &e) && e.Code != apperr.Internal {
		return e.Message
	}
	tb.Fatalf("users.Create(%+v): %v is not a person-facing error", in, err)
	return ""
}

// dbFile is the path of the database file in dir.
func dbFile(dir string) string { return filepath.Join(dir, store.FileName) }

// readTable splits the output of a tabwriter table into rows of cells.
// Cells are separated by two or more spaces (the padding), so a cell may
// hold single spaces ("Ann Lee").
func readTable(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, cellSep.Split(strings.TrimRight(line, " "), -1))
	}
	return rows
}

var cellSep = regexp.MustCompile(` {2,}`)

// readAll is io.ReadAll for tests.
func readAll(tb testing.TB, r io.Reader) string {
	tb.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
