package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/search"
	"projblog/internal/store"
	"projblog/internal/users"
	"projblog/internal/web"
)

// testClock is a settable clock shared by the services and the server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running projblog on a real bbolt file behind the real echo
// server, reached through httptest.
type env struct {
	t      testing.TB
	db     *store.DB
	users  *users.Service
	posts  *posts.Service
	srv    *httptest.Server
	clock  *testClock
	notify *notify.Service
	search *search.Index // tests call CatchUp before searching
}

const testPassword = "correct horse battery"

func newEnv(t testing.TB) *env {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &testClock{t: time.Date(2026, 11, 2, 14, 30, 0, 0, time.UTC)}
	u, err := users.New(db, users.Options{Now: clock.Now, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	p, err := posts.New(db, posts.Options{Now: clock.Now, Mentions: u.ResolveHandles})
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(db, p, u, notify.Options{Now: clock.Now, BaseURL: "http://projblog.test", From: "projblog@projblog.test"})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ix, err := search.Open(filepath.Join(t.TempDir(), "search"), db, p, search.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	e := &env{t: t, db: db, users: u, posts: p, clock: clock, notify: n, search: ix}
	s, err := web.New(db, p, u, web.Options{
		BaseURL: "http://projblog.test", Now: clock.Now, Version: "test", Notify: n, Search: ix,
		Logger: quiet, ProjectAddress: func(slug string) string { return slug + "@mail.projblog.test" },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// user creates an account.
func (e *env) user(email, name string, admin bool) *users.User {
	e.t.Helper()
	u, err := e.users.Create(users.NewUser{Email: email, Name: name, Password: testPassword, Admin: admin})
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// project creates a project owned by owner.
func (e *env) project(owner *users.User, slug string, vis access.Visibility) *posts.Project {
	e.t.Helper()
	p, err := e.posts.CreateProject(owner.Actor(), posts.ProjectInput{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:], Visibility: vis}, owner.ID)
	if err != nil {
		e.t.Fatalf("create project %s: %v", slug, err)
	}
	return p
}

// post publishes a post as author.
func (e *env) post(author *users.User, project, title, body string) *posts.Post {
	e.t.Helper()
	p, err := e.posts.CreatePost(author.Actor(), project, posts.PostInput{Title: title, Body: body})
	if err != nil {
		e.t.Fatalf("create post %q: %v", title, err)
	}
	return p
}

// client is a browser-like HTTP client with its own cookie jar that does
// not follow redirects, so tests see them.
type client struct {
	e    *env
	http *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   string
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func (c *client) get(path string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	return c.do(req)
}

// csrf fetches a page and returns the CSRF token of its first form
// (the token cookie comes with it).
func (c *client) csrf() string {
	c.e.t.Helper()
	for _, path := range []string{"/login", "/settings"} {
		if tok := formValue(c.e.t, c.get(path).Body, "_csrf"); tok != "" {
			return tok
		}
	}
	c.e.t.Fatalf("no CSRF token on /login nor /settings")
	return ""
}

// post submits a form with the CSRF token.
func (c *client) post(path string, form url.Values) response {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf())
	}
	return c.postRaw(path, form)
}

// postRaw submits a form as is (no CSRF token added).
func (c *client) postRaw(path string, form url.Values) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	return c.do(req)
}

// login logs the client in as email and fails the test if that does not
// work.
func (c *client) login(email string) *client {
	c.e.t.Helper()
	res := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if res.Status != http.StatusSeeOther {
		c.e.t.Fatalf("login %s: status %d\n%s", email, res.Status, res.Body)
	}
	return c
}

// formValue returns the value attribute of the first input named name.
func formValue(t testing.TB, body, name string) string {
	t.Helper()
	var found string
	walk(t, body, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name {
			found = attr(n, "value")
			return false
		}
		return true
	})
	return found
}

// walk visits the parsed page depth-first until visit returns false.
func walk(t testing.TB, body string, visit func(*html.Node) bool) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	var rec func(*html.Node) bool
	rec = func(n *html.Node) bool {
		if !visit(n) {
			return false
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if !rec(ch) {
				return false
			}
		}
		return true
	}
	rec(doc)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// texts returns the text content of every element matching tag (and
// class, when given).
func texts(t testing.TB, body, tag, class string) []string {
	t.Helper()
	var out []string
	walk(t, body, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == tag && (class == "" || hasClass(n, class)) {
			out = append(out, strings.TrimSpace(textOf(n)))
		}
		return true
	})
	return out
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			rec(ch)
		}
	}
	rec(n)
	return b.String()
}

type htmlNode = html.Node

func usersProfile(name, tz, lang string) users.Profile {
	return users.Profile{Name: name, TimeZone: tz, Language: lang}
}
