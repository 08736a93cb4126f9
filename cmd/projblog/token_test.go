package main

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"projblog/internal/apperr"
	"projblog/internal/users"
)

// runToken runs `projblog token ARGS...` and reports it as run does: exit
// code 0, 1 or 2 and the "projblog: ..." line. (It calls cmdToken
// directly, so the test does not depend on main's dispatch.)
func runToken(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := cmdToken(args, &stdout, &stderr)
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ue):
		r.code = 2
		r.stderr += "projblog: " + err.Error() + "\n"
	default:
		r.code = 1
		r.stderr += "projblog: " + cliMessage(err) + "\n"
	}
	return r
}

var tokenLine = regexp.MustCompile(`^pba_[a-z2-7]{52}\n$`)

func TestToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var ann *users.User
	seed(t, dir, func(s *services) {
		ann = s.addUser(t, "ann@example.com", "Ann", false)
		s.addUser(t, "bob@example.com", "Bob", false)
	})

	// add prints the token alone on stdout, so TOKEN=$(projblog token add ...) works.
	r := runToken(t, "add", "ann@example.com", "--scope", "write", "--name", "CI release notes", "--data", dir)
	if r.code != 0 || !tokenLine.MatchString(r.stdout) || !strings.Contains(r.stderr, "shown this once") {
		t.Fatalf("token add: %v", r)
	}
	write := strings.TrimSpace(r.stdout)
	r = runToken(t, "add", "--data", dir, "--scope=read", "ann@example.com")
	if r.code != 0 || !tokenLine.MatchString(r.stdout) {
		t.Fatalf("token add (flags first, default name): %v", r)
	}
	read := strings.TrimSpace(r.stdout)

	s := mustOpenDB(t, dir)
	for tok, scope := range map[string]users.APIScope{write: users.ScopeWrite, read: users.ScopeRead} {
		u, sc, err := s.users.UserByAPIToken(tok)
		if err != nil || u.ID != ann.ID || sc != scope {
			t.Errorf("the printed token: %v, %q, %v; want Ann with %q", u, sc, err, scope)
		}
	}
	list, err := s.users.APITokens(ann.ID)
	if err != nil || len(list) != 2 || list[0].Name != defaultTokenName || list[1].Name != "CI release notes" {
		t.Fatalf("tokens = %+v, %v", list, err)
	}
	s.Close()

	r = runToken(t, "list", "ann@example.com", "--data", dir)
	rows := readTable(r.stdout)
	if r.code != 0 || len(rows) != 3 || strings.Join(rows[0], "|") != "ID|NAME|SCOPE|CREATED|LAST USED" ||
		rows[2][1] != "CI release notes" || rows[2][2] != "write" || rows[1][2] != "read" || rows[2][4] == "never" {
		t.Fatalf("token list: %v\n%q", r, rows)
	}
	if strings.Contains(r.stdout, write) || strings.Contains(r.stdout, read) {
		t.Error("token list shows a token")
	}
	if r := runToken(t, "list", "bob@example.com", "--data", dir); r.code != 0 || len(readTable(r.stdout)) != 1 {
		t.Errorf("Bob's tokens: %v", r)
	}
	if r := runToken(t, "add", "bob@example.com", "--scope", "read", "--data", dir); r.code != 0 {
		t.Fatal(r)
	}
	if r := runToken(t, "list", "bob@example.com", "--data", dir); r.code != 0 || len(readTable(r.stdout)) != 2 || readTable(r.stdout)[1][4] != "never" {
		t.Errorf("Bob's unused token: %v", r)
	}

	// Revoking someone else's token: refused, and the token still works.
	id := rows[2][0]
	wantFail(t, runToken(t, "revoke", "bob@example.com", id, "--data", dir), 1, "bob@example.com has no API token "+id)
	r = runToken(t, "revoke", "ann@example.com", id, "--data", dir)
	if r.code != 0 || r.stdout != "revoked API token "+id+" of ann@example.com\n" {
		t.Fatalf("token revoke: %v", r)
	}
	s = mustOpenDB(t, dir)
	if _, _, err := s.users.UserByAPIToken(write); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Errorf("the revoked token: %v", err)
	}
	if _, _, err := s.users.UserByAPIToken(read); err != nil {
		t.Errorf("the other token: %v", err)
	}
	s.Close()
	wantFail(t, runToken(t, "revoke", "ann@example.com", id, "--data", dir), 1, "has no API token")
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seed(t, dir, func(s *services) {
		s.addUser(t, "ann@example.com", "Ann", false)
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"NoSubCommand", nil, 2, "add, list or revoke"},
		{"UnknownSubCommand", []string{"rotate"}, 2, `unknown token sub-command "rotate"`},
		{"NoScope", []string{"add", "ann@example.com"}, 2, "--scope"},
		{"BadScope", []string{"add", "ann@example.com", "--scope", "admin"}, 2, `--scope "admin"`},
		{"NoEmail", []string{"add", "--scope", "read"}, 2, "EMAIL"},
		{"UnknownFlag", []string{"add", "ann@example.com", "--scope", "read", "--forever"}, 2, "-forever"},
		{"RevokeNoID", []string{"revoke", "ann@example.com"}, 2, "token ID"},
		{"RevokeBadID", []string{"revoke", "ann@example.com", "first"}, 2, `"first"`},
		{"ListTwoEmails", []string{"list", "ann@example.com", "bob@example.com"}, 2, "exactly one EMAIL"},
		{"UnknownUser", []string{"add", "zed@example.com", "--scope", "read"}, 1, "no user with e-mail zed@example.com"},
		{"UnknownUserList", []string{"list", "zed@example.com"}, 1, "no user with e-mail zed@example.com"},
		{"BadName", []string{"add", "ann@example.com", "--scope", "read", "--name", " "}, 1, "Give the token a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if len(args) > 1 {
				args = append(args, "--data", dir)
			}
			wantFail(t, runToken(t, args...), tc.code, tc.want)
		})
	}
	// Nothing was created.
	s := mustOpenDB(t, dir)
	u := s.userByEmail(t, "ann@example.com")
	if list, _ := s.users.APITokens(u.ID); len(list) != 0 {
		t.Errorf("a failed command created tokens: %+v", list)
	}

	// Help touches nothing.
	missing := filepath.Join(t.TempDir(), "data")
	if r := runToken(t, "--help"); r.code != 0 || !strings.Contains(r.stdout, "projblog token add EMAIL --scope read|write") {
		t.Errorf("token --help: %v", r)
	}
	if r := runToken(t, "add", "--help", "--data", missing); r.code != 0 || !strings.Contains(r.stderr, "Usage: projblog token add EMAIL") {
		t.Errorf("token add --help: %v", r)
	}
}
