package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

func TestUserAdd(t *testing.T) {
	t.Parallel()

	t.Run("GeneratedPassword", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := mustRun(t, "", "user", "add", "ann@example.com", "--name", "Ann Lee", "--data", dir)
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if len(lines) != 2 || lines[0] != "created user ann@example.com (Ann Lee)" {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		password, ok := strings.CutPrefix(lines[1], "password: ")
		if !ok || len(password) < users.MinPasswordBytes {
			t.Fatalf("no usable generated password in %q", lines[1])
		}
		s := mustOpenDB(t, dir)
		if _, err := s.users.Authenticate("ann@example.com", password, ""); err != nil {
			t.Errorf("log in with the printed password: %v", err)
		}
		if u := s.userByEmail(t, "ann@example.com"); u.Admin || !u.Active || u.Name != "Ann Lee" {
			t.Errorf("user = %+v, want an active non-admin named Ann Lee", u)
		}
	})

	t.Run("PasswordStdin", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := mustRun(t, testPassword+"\r\n", "user", "add", "bob@example.com", "--name", "Bob", "--password-stdin", "--data", dir)
		if r.stdout != "created user bob@example.com (Bob)\n" {
			t.Errorf("stdout = %q; a password read from stdin must not be printed", r.stdout)
		}
		s := mustOpenDB(t, dir)
		if _, err := s.users.Authenticate("bob@example.com", testPassword, ""); err != nil {
			t.Errorf("log in with the password given on stdin: %v", err)
		}
	})

	// Flags may stand before or after the positional EMAIL, in any of
	// the spellings the flag package knows. Both cases add an admin, so
	// they also cover --admin (GeneratedPassword covers its absence).
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"FlagsAfterEmail", []string{"cy@example.com", "--name=Cy", "-admin", "--password-stdin"}},
		{"FlagsBeforeEmail", []string{"--name", "Cy", "--admin", "-password-stdin", "cy@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append([]string{"user", "add", "--data", dir}, tc.args...)
			mustRun(t, testPassword+"\n", args...)
			s := mustOpenDB(t, dir)
			u := s.userByEmail(t, "cy@example.com")
			if u.Name != "Cy" || !u.Admin {
				t.Errorf("user = %+v, want admin Cy", u)
			}
			if _, err := s.users.Authenticate("cy@example.com", testPassword, ""); err != nil {
				t.Errorf("--password-stdin was not honoured: %v", err)
			}
		})
	}

	// Used wrongly: exit code 2, a message naming the problem, and no
	// database created.
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"MissingName", "", []string{"dee@example.com"}, "--name"},
		{"EmptyName", "", []string{"dee@example.com", "--name", ""}, "--name"},
		{"MissingEmail", "", []string{"--name", "Dee"}, "EMAIL"},
		{"TwoEmails", "", []string{"dee@example.com", "eve@example.com", "--name", "Dee"}, "exactly one EMAIL"},
		{"EmptyPasswordStdin", "\n", []string{"dee@example.com", "--name", "Dee", "--password-stdin"}, "--password-stdin"},
		{"UnknownFlag", "", []string{"dee@example.com", "--name", "Dee", "--root"}, "-root"},
		{"BadBoolValue", "", []string{"dee@example.com", "--name", "Dee", "--admin=maybe"}, "-admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"user", "add", "--data", dir}, tc.args...)
			r := runCLI(t, tc.stdin, args...)
			wantFail(t, r, 2, tc.want)
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a wrongly used command created the data directory (stat: %v)", err)
			}
		})
	}

	t.Run("InvalidEmail", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := runCLI(t, "", "user", "add", "not-an-email", "--name", "Dee", "--data", dir)
		want := usersMessage(t, users.NewUser{Email: "not-an-email", Name: "Dee", Password: testPassword})
		wantFail(t, r, 1)
		if r.stderr != "projblog: "+want+"\n" {
			t.Errorf("stderr = %q, want the users package's message %q", r.stderr, want)
		}
		s := mustOpenDB(t, dir)
		if n, _ := s.users.Count(); n != 0 {
			t.Errorf("%d users exist after a refused add", n)
		}
	})

	t.Run("PasswordTooShort", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := runCLI(t, "short\n", "user", "add", "dee@example.com", "--name", "Dee", "--password-stdin", "--data", dir)
		want := usersMessage(t, users.NewUser{Email: "dee@example.com", Name: "Dee", Password: "short"})
		wantFail(t, r, 1, want)
	})

	t.Run("ErrEmailTaken", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) { s.addUser(t, "fay@example.com", "Fay", false) })
		// Emails are unique case-insensitively.
		r := runCLI(t, testPassword+"\n", "user", "add", "FAY@Example.com", "--name", "Other Fay", "--password-stdin", "--data", dir)
		wantFail(t, r, 1, "already exists")
		s := mustOpenDB(t, dir)
		if u := s.userByEmail(t, "fay@example.com"); u.Name != "Fay" {
			t.Errorf("the existing account changed: %+v", u)
		}
	})
}

func TestUserList(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) {
			s.addUser(t, "zed@example.com", "Zed Young", false)
			s.addUser(t, "ann@example.com", "Ann Lee", true)
		})
		r := mustRun(t, "", "user", "list", "--data", dir)
		got := readTable(r.stdout)
		want := [][]string{
			{"EMAIL", "NAME", "HANDLE", "ADMIN", "ACTIVE"},
			{"ann@example.com", "Ann Lee", "ann", "yes", "yes"},
			{"zed@example.com", "Zed Young", "zed", "no", "yes"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("user list:\n%s\nparsed as %q\nwant %q", r.stdout, got, want)
		}
		// The columns line up: every row has its cells at the header's offsets.
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		for _, col := range []string{"NAME", "HANDLE", "ADMIN"} {
			off := strings.Index(lines[0], col)
			for _, l := range lines[1:] {
				if off >= len(l) || l[off-1] != ' ' || l[off] == ' ' {
					t.Errorf("column %s does not start at offset %d in %q", col, off, l)
				}
			}
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		r := mustRun(t, "", "user", "list", "--data", t.TempDir())
		if got := readTable(r.stdout); len(got) != 1 || got[0][0] != "EMAIL" {
			t.Errorf("an empty list should be the header alone:\n%s", r.stdout)
		}
	})

	t.Run("ExtraArgument", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, "", "user", "list", "ann@example.com", "--data", t.TempDir())
		wantFail(t, r, 2, "no arguments")
	})
}

func TestUserPasswd(t *testing.T) {
	t.Parallel()
	const newPassword = "a brand new passphrase"

	t.Run("PasswordStdin", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var token string
		seed(t, dir, func(s *services) {
			var err error
			if token, err = s.users.CreateSession(s.addUser(t, "ann@example.com", "Ann", false).ID, "test"); err != nil {
				t.Fatal(err)
			}
		})

		r := mustRun(t, newPassword+"\n", "user", "passwd", "ANN@example.com", "--password-stdin", "--data", dir)
		if r.stdout != "password changed for ann@example.com; their sessions were ended\n" {
			t.Errorf("stdout = %q", r.stdout)
		}

		// The command must have closed the database, or this open times out.
		s := mustOpenDB(t, dir)
		if _, err := s.users.Authenticate("ann@example.com", newPassword, ""); err != nil {
			t.Errorf("log in with the new password: %v", err)
		}
		if _, err := s.users.Authenticate("ann@example.com", testPassword, ""); err == nil {
			t.Error("the old password still works")
		}
		if _, err := s.users.Session(token); err == nil {
			t.Error("a session from before the change still works")
		}
	})

	t.Run("GeneratedPassword", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) { s.addUser(t, "bob@example.com", "Bob", false) })
		r := mustRun(t, "", "user", "passwd", "--data", dir, "bob@example.com")
		_, password, ok := strings.Cut(r.stdout, "\npassword: ")
		password = strings.TrimSuffix(password, "\n")
		if !ok || len(password) < users.MinPasswordBytes {
			t.Fatalf("no generated password in stdout:\n%s", r.stdout)
		}
		s := mustOpenDB(t, dir)
		if _, err := s.users.Authenticate("bob@example.com", password, ""); err != nil {
			t.Errorf("log in with the printed password: %v", err)
		}
	})

	t.Run("UnknownEmail", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) { s.addUser(t, "ann@example.com", "Ann", false) })
		r := runCLI(t, newPassword+"\n", "user", "passwd", "nobody@example.com", "--password-stdin", "--data", dir)
		wantFail(t, r, 1, "no user", "nobody@example.com")
	})

	t.Run("PasswordTooShort", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) { s.addUser(t, "ann@example.com", "Ann", false) })
		r := runCLI(t, "short\n", "user", "passwd", "ann@example.com", "--password-stdin", "--data", dir)
		wantFail(t, r, 1, "too short")
		s := mustOpenDB(t, dir)
		if _, err := s.users.Authenticate("ann@example.com", testPassword, ""); err != nil {
			t.Errorf("a refused change altered the password: %v", err)
		}
	})

	t.Run("MissingEmail", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, "", "user", "passwd", "--data", t.TempDir())
		wantFail(t, r, 2, "EMAIL")
	})
}

func TestProjectAdd(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name    string
		args    []string
		wantURL string
	}{
		{"DefaultBaseURL", []string{"apollo", "--name", "Apollo", "--visibility", "private", "--owner", "ann@example.com"},
			"http://localhost:8080/p/apollo"},
		{"BaseURL", []string{"--base-url", "https://blog.example.com/", "--name", "Apollo", "--visibility", "private", "--owner", "ann@example.com", "apollo"},
			"https://blog.example.com/p/apollo"},
		{"BaseURLWithPath", []string{"apollo", "--name", "Apollo", "--visibility=private", "--owner=ANN@example.com", "--base-url=https://example.com/blog"},
			"https://example.com/blog/p/apollo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			seed(t, dir, func(s *services) { s.addUser(t, "ann@example.com", "Ann", false) })
			args := append([]string{"project", "add", "--data", dir, "--description", "To the moon."}, tc.args...)
			r := mustRun(t, "", args...)
			if r.stdout != tc.wantURL+"\n" {
				t.Errorf("stdout = %q, want %q", r.stdout, tc.wantURL+"\n")
			}

			s := mustOpenDB(t, dir)
			owner := s.userByEmail(t, "ann@example.com")
			pv, err := s.posts.Project(owner.Actor(), "apollo")
			if err != nil {
				t.Fatalf("the project is not there for its owner: %v", err)
			}
			if pv.Name != "Apollo" || pv.Description != "To the moon." || pv.Visibility != access.Private || pv.Role != access.Owner {
				t.Errorf("project = %+v (role %s), want private Apollo owned by ann", pv.Project, pv.Role)
			}
			if _, err := s.posts.Project(access.Anonymous, "apollo"); err == nil {
				t.Error("a private project is visible to anonymous readers")
			}
		})
	}

	t.Run("DefaultVisibilityInternal", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) { s.addUser(t, "ann@example.com", "Ann", false) })
		mustRun(t, "", "project", "add", "gemini", "--name", "Gemini", "--owner", "ann@example.com", "--data", dir)
		s := mustOpenDB(t, dir)
		pv, err := s.posts.Project(s.userByEmail(t, "ann@example.com").Actor(), "gemini")
		if err != nil || pv.Visibility != access.Internal {
			t.Errorf("Project = %+v, %v; want an internal project", pv, err)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"BadVisibility", []string{"apollo", "--name", "Apollo", "--visibility", "secret", "--owner", "ann@example.com"}, "--visibility"},
		{"MissingName", []string{"apollo", "--owner", "ann@example.com"}, "--name"},
		{"MissingOwner", []string{"apollo", "--name", "Apollo"}, "--owner"},
		{"MissingSlug", []string{"--name", "Apollo", "--owner", "ann@example.com"}, "SLUG"},
		{"BadBaseURL", []string{"apollo", "--name", "Apollo", "--owner", "ann@example.com", "--base-url", "ftp://x"}, "--base-url"},
		{"NoSubCommand", nil, "add"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"project", "add", "--data", dir}, tc.args...)
			if tc.args == nil {
				args = []string{"project"}
			}
			wantFail(t, runCLI(t, "", args...), 2, tc.want)
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a wrongly used command created the data directory (stat: %v)", err)
			}
		})
	}

	t.Run("UnknownOwner", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := runCLI(t, "", "project", "add", "apollo", "--name", "Apollo", "--owner", "nobody@example.com", "--data", dir)
		wantFail(t, r, 1, "--owner", "nobody@example.com")
	})

	t.Run("ErrSlugTaken", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) {
			ann := s.addUser(t, "ann@example.com", "Ann", false)
			if _, err := s.posts.CreateProject(ann.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo"}, 0); err != nil {
				t.Fatal(err)
			}
		})
		r := runCLI(t, "", "project", "add", "apollo", "--name", "Apollo II", "--owner", "ann@example.com", "--data", dir)
		wantFail(t, r, 1, "apollo", "already taken")
		s := mustOpenDB(t, dir)
		pv, err := s.posts.Project(s.userByEmail(t, "ann@example.com").Actor(), "apollo")
		if err != nil || pv.Name != "Apollo" {
			t.Errorf("the first project changed: %+v, %v", pv, err)
		}
	})

	t.Run("ReservedSlug", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		seed(t, dir, func(s *services) { s.addUser(t, "ann@example.com", "Ann", false) })
		r := runCLI(t, "", "project", "add", "admin", "--name", "Admin", "--owner", "ann@example.com", "--data", dir)
		wantFail(t, r, 1, "reserved")
	})
}

func TestPostAdd(t *testing.T) {
	t.Parallel()

	// newBlog is a data directory with an author, a project they own and
	// a user who is not a member.
	newBlog := func(t *testing.T) string {
		t.Helper()
		dir := t.TempDir()
		seed(t, dir, func(s *services) {
			ann := s.addUser(t, "ann@example.com", "Ann", false)
			s.addUser(t, "bob@example.com", "Bob", false)
			in := posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Private}
			if _, err := s.posts.CreateProject(ann.Actor(), in, 0); err != nil {
				t.Fatal(err)
			}
		})
		return dir
	}
	const body = "Launch went **well**.\n\n- stage one\n- stage two\n"

	for _, tc := range []struct {
		name  string
		draft bool
	}{{"Published", false}, {"Draft", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := newBlog(t)
			args := []string{"post", "add", "--project", "apollo", "--author", "ann@example.com", "--title", "Launch report",
				"--tag", "Rockets", "--tag", "#launch", "--data", dir}
			if tc.draft {
				args = append(args, "--draft")
			}
			r := mustRun(t, body, args...)
			postSlug, ok := strings.CutPrefix(strings.TrimSuffix(r.stdout, "\n"), "http://localhost:8080/p/apollo/")
			if !ok || postSlug == "" || strings.Contains(postSlug, "/") {
				t.Fatalf("stdout = %q, want http://localhost:8080/p/apollo/SLUG", r.stdout)
			}

			s := mustOpenDB(t, dir)
			author := s.userByEmail(t, "ann@example.com")
			p, _, _, err := s.posts.ResolvePost(author.Actor(), "apollo", postSlug)
			if err != nil {
				t.Fatalf("the printed URL names no post: %v", err)
			}
			if p.Title != "Launch report" || p.Body != body || p.AuthorID != author.ID || p.Draft != tc.draft {
				t.Errorf("post = %+v", p)
			}
			if want := []string{"launch", "rockets"}; !slices.Equal(p.Tags, want) {
				t.Errorf("tags = %q, want %q", p.Tags, want)
			}
			if p.PublishedAt.IsZero() != tc.draft {
				t.Errorf("PublishedAt = %v with draft %v", p.PublishedAt, tc.draft)
			}
			// The HTML was rendered from the Markdown when the post was written.
			doc, err := html.Parse(strings.NewReader(p.HTML))
			if err != nil {
				t.Fatal(err)
			}
			if got := textOf(findAll(doc, "strong")); !slices.Equal(got, []string{"well"}) {
				t.Errorf("<strong> = %q in HTML %q", got, p.HTML)
			}
			if got := textOf(findAll(doc, "li")); !slices.Equal(got, []string{"stage one", "stage two"}) {
				t.Errorf("<li> = %q in HTML %q", got, p.HTML)
			}
			// A draft is not shown to anyone who may not edit it.
			bob := s.userByEmail(t, "bob@example.com")
			if _, _, _, err := s.posts.ResolvePost(bob.Actor(), "apollo", postSlug); err == nil {
				t.Error("a non-member reads a post of a private project")
			}
		})
	}

	t.Run("BodyAtLimit", func(t *testing.T) {
		t.Parallel()
		dir := newBlog(t)
		big := strings.Repeat(strings.Repeat("x", 1023)+"\n", posts.MaxBodyBytes/1024)
		r := mustRun(t, big, "post", "add", "--project", "apollo", "--author", "ann@example.com", "--title", "Big", "--data", dir)
		postSlug := strings.TrimPrefix(strings.TrimSpace(r.stdout), "http://localhost:8080/p/apollo/")
		s := mustOpenDB(t, dir)
		p, _, _, err := s.posts.ResolvePost(s.userByEmail(t, "ann@example.com").Actor(), "apollo", postSlug)
		if err != nil || len(p.Body) != posts.MaxBodyBytes {
			t.Fatalf("a body of exactly 1 MiB was not stored whole: %v", err)
		}
	})

	t.Run("BodyTooLarge", func(t *testing.T) {
		t.Parallel()
		dir := newBlog(t)
		big := strings.Repeat("x", 2*posts.MaxBodyBytes)
		r := runCLI(t, big, "post", "add", "--project", "apollo", "--author", "ann@example.com", "--title", "Big", "--data", dir)
		wantFail(t, r, 1, "1 MiB")
		s := mustOpenDB(t, dir)
		page, err := s.posts.Recent(s.userByEmail(t, "ann@example.com").Actor(), "", 10)
		if err != nil || len(page.Posts) != 0 {
			t.Errorf("Recent = %+v, %v; want no posts", page, err)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"UnknownProject", []string{"--project", "zeus", "--author", "ann@example.com", "--title", "T"}, 1, []string{"No such project"}},
		{"NotAMember", []string{"--project", "apollo", "--author", "bob@example.com", "--title", "T"}, 1, []string{"No such project"}},
		{"UnknownAuthor", []string{"--project", "apollo", "--author", "nobody@example.com", "--title", "T"}, 1, []string{"--author", "nobody@example.com"}},
		{"BadTag", []string{"--project", "apollo", "--author", "ann@example.com", "--title", "T", "--tag", "a/b"}, 1, []string{"a/b"}},
		{"MissingTitle", []string{"--project", "apollo", "--author", "ann@example.com"}, 2, []string{"--title"}},
		{"MissingProject", []string{"--author", "ann@example.com", "--title", "T"}, 2, []string{"--project"}},
		{"PositionalArgument", []string{"--project", "apollo", "--author", "ann@example.com", "--title", "T", "body.md"}, 2, []string{"standard input"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A command used wrongly must fail before it opens (or
			// creates) the database.
			dir := filepath.Join(t.TempDir(), "data")
			if tc.code != 2 {
				dir = newBlog(t)
			}
			r := runCLI(t, body, append([]string{"post", "add", "--data", dir}, tc.args...)...)
			wantFail(t, r, tc.code, tc.want...)
			if _, err := os.Stat(dir); tc.code == 2 && !os.IsNotExist(err) {
				t.Errorf("a wrongly used command created the data directory (stat: %v)", err)
			}
		})
	}
}

// findAll returns the elements named tag under n, in document order.
func findAll(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == tag {
			out = append(out, d)
		}
	}
	return out
}

// textOf returns the trimmed text content of each node.
func textOf(nodes []*html.Node) []string {
	var out []string
	for _, n := range nodes {
		var b strings.Builder
		for d := range n.Descendants() {
			if d.Type == html.TextNode {
				b.WriteString(d.Data)
			}
		}
		out = append(out, strings.TrimSpace(b.String()))
	}
	return out
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		stdout string // wanted in standard output ("" = nothing expected there)
		stderr string // wanted in standard error
	}{
		{[]string{"--help"}, "projblog user add EMAIL", ""},
		{[]string{"-h"}, "projblog post add", ""},
		{[]string{"help"}, "projblog serve", ""},
		{[]string{"serve", "--help"}, "", "Usage: projblog serve"},
		{[]string{"user", "--help"}, "projblog user passwd EMAIL", ""},
		{[]string{"user", "add", "--help"}, "", "Usage: projblog user add EMAIL"},
		{[]string{"user", "add", "-h"}, "", "Usage: projblog user add EMAIL"},
		{[]string{"user", "passwd", "--help"}, "", "Usage: projblog user passwd EMAIL"},
		{[]string{"user", "list", "--help"}, "", "Usage: projblog user list"},
		{[]string{"project", "--help"}, "", "Usage: projblog project add SLUG"},
		{[]string{"project", "add", "--help"}, "", "Usage: projblog project add SLUG"},
		{[]string{"post", "--help"}, "", "Usage: projblog post add"},
		{[]string{"post", "add", "--help"}, "", "Usage: projblog post add"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			t.Parallel()
			// --data points at a directory that must not come to exist:
			// asking for help touches nothing.
			dir := filepath.Join(t.TempDir(), "data")
			args := tc.args
			if len(args) > 1 {
				args = append(slices.Clone(args), "--data", dir)
			}
			r := runCLI(t, "", args...)
			if r.code != 0 {
				t.Fatalf("exit code %d, want 0\n%v", r.code, r)
			}
			if tc.stdout != "" && !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout does not show %q\n%v", tc.stdout, r)
			}
			if tc.stderr != "" && !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr does not show %q\n%v", tc.stderr, r)
			}
			if strings.Contains(r.stdout+r.stderr, "projblog: ") {
				t.Errorf("help printed an error message\n%v", r)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("--help created the data directory (stat: %v)", err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		r := runCLI(t, "", arg)
		if r.code != 0 || r.stdout != "projblog "+version+"\n" {
			t.Errorf("projblog %s: %v", arg, r)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NoCommand", nil, "Usage:"},
		{"UnknownCommand", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"UnknownUserSubCommand", []string{"user", "delete", "ann@example.com"}, `unknown user sub-command "delete"`},
		{"NoUserSubCommand", []string{"user"}, "add, passwd or list"},
		{"UnknownPostSubCommand", []string{"post", "edit"}, "add"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", tc.args...)
			if r.code != 2 {
				t.Errorf("exit code %d, want 2\n%v", r.code, r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not mention %q\n%v", tc.want, r)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestSchemaVersionNewer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSchemaVersion(store.SchemaVersion + 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "", "user", "list", "--data", dir)
	wantFail(t, r, 1, fmt.Sprintf("schema version %d", store.SchemaVersion+1), "upgrade projblog", dbFile(dir))

	// The refusal must leave the newer database as it was, not stamp it
	// with this build's version.
	_, err = store.Open(dir, store.Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", store.SchemaVersion+1)) {
		t.Errorf("reopening after the refusal: %v; want the schema version error again", err)
	}
}

func TestRerender(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	mustRun(t, "", "project", "add", "apollo", "--name", "Apollo", "--owner", "ada@example.com", "--data", dir)
	mustRun(t, "- [x] done\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "One", "--data", dir)
	mustRun(t, "two\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "Two", "--data", dir)
	if r := mustRun(t, "", "rerender", "--data", dir); !strings.Contains(r.stdout, "0 posts rendered again") {
		t.Fatalf("posts written by this build were rendered again: %s", r)
	}
	if r := mustRun(t, "", "rerender", "--all", "--data", dir); !strings.Contains(r.stdout, "2 posts rendered again") {
		t.Fatalf("rerender --all: %s", r)
	}
	wantFail(t, runCLI(t, "", "rerender", "extra", "--data", dir), 2, "no arguments")
}

func TestPostAddStatusUpdate(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	mustRun(t, "", "project", "add", "apollo", "--name", "Apollo", "--owner", "ada@example.com", "--data", dir)
	mustRun(t, "Behind on QA.\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "Week 45", "--health", "at_risk", "--data", dir)
	wantFail(t, runCLI(t, "x\n", "post", "add", "--project", "apollo", "--author", "ada@example.com", "--title", "Bad", "--health", "sunny", "--data", dir), 2, "--health")
	s := mustOpenDB(t, dir)
	defer s.Close()
	ada := s.userByEmail(t, "ada@example.com")
	pv, err := s.posts.Project(ada.Actor(), "apollo")
	if err != nil || pv.Health != posts.AtRisk {
		t.Fatalf("project health %q, %v", pv.Health, err)
	}
}

func TestDigestPreviewAndFailures(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	mustRun(t, "", "project", "add", "apollo", "--name", "Apollo", "--owner", "ada@example.com", "--data", dir)
	r := mustRun(t, "", "digest", "preview", "--user", "ada@example.com", "--week", "2026-W01", "--data", dir)
	if !strings.Contains(r.stdout, "empty") {
		t.Fatalf("preview of an empty week: %s", r)
	}
	wantFail(t, runCLI(t, "", "digest", "preview", "--user", "ada@example.com", "--week", "2026-W99", "--data", dir), 1, "2026-W99")
	wantFail(t, runCLI(t, "", "digest", "preview", "--data", dir), 2, "--user")
	r = mustRun(t, "", "notify", "failures", "--data", dir)
	if !strings.HasPrefix(r.stdout, "STATE") {
		t.Fatalf("notify failures: %s", r)
	}
}
