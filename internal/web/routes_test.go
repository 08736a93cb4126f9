package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// routesEnv is a small site with something on every page: an internal
// project with an owner and a member, a post with two revisions and a tag,
// a draft and a post in the trash.
type routesEnv struct {
	*env
	admin, owner, member *users.User
	post                 *posts.Post
	clients              map[string]*client // by reader: anonymous, member, owner, admin
}

func newRoutesEnv(t *testing.T) *routesEnv {
	e := newEnv(t)
	re := &routesEnv{env: e,
		admin:  e.user("admin@example.com", "Ada Admin", true),
		owner:  e.user("owner@example.com", "Olive Owner", false),
		member: e.user("member@example.com", "Mia Member", false),
	}
	e.project(re.owner, "apollo", access.Internal)
	if err := e.posts.SetMember(re.owner.Actor(), "apollo", re.member.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	p := e.post(re.owner, "apollo", "Launch plan", "Intro.\n\n## Steps\n\n- one\n- two\n")
	var err error
	if re.post, err = e.posts.UpdatePost(re.owner.Actor(), p.ID, posts.PostInput{Title: "Launch plan", Body: p.Body + "- three\n", Tags: []string{"launch"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.posts.CreatePost(re.owner.Actor(), "apollo", posts.PostInput{Title: "Half an idea", Body: "Later.", Draft: true}); err != nil {
		t.Fatal(err)
	}
	old := e.post(re.owner, "apollo", "Old news", "Gone.")
	if err := e.posts.DeletePost(re.owner.Actor(), old.ID); err != nil {
		t.Fatal(err)
	}
	re.clients = map[string]*client{
		"anonymous": e.client(),
		"member":    e.client().login(re.member.Email),
		"owner":     e.client().login(re.owner.Email),
		"admin":     e.client().login(re.admin.Email),
	}
	return re
}

// registeredRoutes lists the server's GET and POST routes as "METHOD
// /pattern", read from echo itself so that a route added later without a
// case here fails TestEveryRouteAnswers.
func registeredRoutes(t *testing.T, e *env) []string {
	t.Helper()
	ec, ok := e.srv.Config.Handler.(interface{ Routes() []*echo.Route })
	if !ok {
		t.Fatalf("the server's handler is a %T, not *echo.Echo: the route list cannot be read", e.srv.Config.Handler)
	}
	var out []string
	for _, r := range ec.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodPost {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pageStructure checks what every HTML page must have: exactly one <h1>
// and one <main> landmark.
func pageStructure(t *testing.T, what, body string) {
	t.Helper()
	h1, main := 0, 0
	walk(t, body, func(n *html.Node) bool {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h1":
				h1++
			case "main":
				main++
			}
		}
		return true
	})
	if h1 != 1 || main != 1 {
		t.Errorf("%s: %d <h1> and %d <main>, want one of each", what, h1, main)
	}
}

func TestEveryRouteAnswers(t *testing.T) {
	re := newRoutesEnv(t)
	var css string
	walk(t, re.clients["anonymous"].get("/").Body, func(n *html.Node) bool {
		if n.Data == "link" && attr(n, "rel") == "stylesheet" {
			css = attr(n, "href")
			return false
		}
		return true
	})
	gets := []struct {
		route, path, reader string
		status              int
		location            string // the exact Location of a redirect
	}{
		{"/healthz", "/healthz", "anonymous", 200, ""},
		{"/static/:file", css, "anonymous", 200, ""},
		{"/", "/", "anonymous", 200, ""},
		{"/", "/", "member", 200, ""},
		{"/login", "/login", "anonymous", 200, ""},
		{"/login", "/login?next=/p/apollo", "member", 303, "/p/apollo"},
		{"/new", "/new", "member", 200, ""},
		{"/new", "/new", "anonymous", 303, "/login?next=%2Fnew"},
		{"/tags/:tag", "/tags/launch", "member", 200, ""},
		{"/p/:project", "/p/apollo", "member", 200, ""},
		{"/p/:project", "/p/apollo", "anonymous", 404, ""},
		{"/p/:project/new", "/p/apollo/new", "member", 200, ""},
		{"/p/:project/:post", "/p/apollo/launch-plan", "member", 200, ""},
		{"/p/:project/:post/edit", "/p/apollo/launch-plan/edit", "owner", 200, ""},
		{"/p/:project/:post/history", "/p/apollo/launch-plan/history", "member", 200, ""},
		{"/p/:project/:post/diff", "/p/apollo/launch-plan/diff?from=1&to=2", "member", 200, ""},
		{"/p/:project/:post/revisions/:n", "/p/apollo/launch-plan/revisions/1", "member", 200, ""},
		{"/p/:project/tags/:tag", "/p/apollo/tags/launch", "member", 200, ""},
		{"/p/:project/archive", "/p/apollo/archive", "member", 200, ""},
		{"/p/:project/archive/:year/:month", "/p/apollo/archive/2026/11", "member", 200, ""},
		{"/p/:project/drafts", "/p/apollo/drafts", "owner", 200, ""},
		{"/p/:project/trash", "/p/apollo/trash", "owner", 200, ""},
		{"/p/:project/trash", "/p/apollo/trash", "member", 403, ""},
		{"/p/:project/settings", "/p/apollo/settings", "owner", 200, ""},
		{"/p/:project/webhooks", "/p/apollo/webhooks", "owner", 200, ""},
		{"/p/:project/webhooks", "/p/apollo/webhooks", "member", 403, ""},
		{"/people/:handle", "/people/" + re.owner.Handle, "member", 200, ""},
		{"/settings", "/settings", "member", 200, ""},
		{"/admin/users", "/admin/users", "admin", 200, ""},
		{"/admin/users", "/admin/users", "member", 404, ""},
		{"/admin/users", "/admin/users", "anonymous", 303, "/login?next=%2Fadmin%2Fusers"},
		{"/posts/:id", fmt.Sprintf("/posts/%d", re.post.ID), "member", 301, "/p/apollo/launch-plan"},
		{"/no/such/page", "/no/such/page", "member", 404, ""},
		// Feeds (feed_test.go checks their content); a browser's session
		// stands in for the token here.
		{"/feed.atom", "/feed.atom", "anonymous", 200, ""},
		{"/feed.rss", "/feed.rss", "member", 200, ""},
		{"/feed.json", "/feed.json", "member", 200, ""},
		{"/p/:project/feed.atom", "/p/apollo/feed.atom", "member", 200, ""},
		{"/p/:project/feed.rss", "/p/apollo/feed.rss", "anonymous", 404, ""},
		{"/p/:project/feed.json", "/p/apollo/feed.json", "member", 200, ""},
		{"/p/:project/tags/:tag/feed.atom", "/p/apollo/tags/launch/feed.atom", "member", 200, ""},
		{"/p/:project/tags/:tag/feed.rss", "/p/apollo/tags/launch/feed.rss", "member", 200, ""},
		{"/p/:project/tags/:tag/feed.json", "/p/apollo/tags/launch/feed.json", "anonymous", 404, ""},
		{"/tags/:tag/feed.atom", "/tags/launch/feed.atom", "member", 200, ""},
		{"/tags/:tag/feed.rss", "/tags/launch/feed.rss", "member", 200, ""},
		{"/tags/:tag/feed.json", "/tags/launch/feed.json", "member", 200, ""},
		{"/people/:handle/feed.atom", "/people/" + re.owner.Handle + "/feed.atom", "member", 200, ""},
		{"/people/:handle/feed.rss", "/people/" + re.owner.Handle + "/feed.rss", "member", 200, ""},
		{"/people/:handle/feed.json", "/people/" + re.owner.Handle + "/feed.json", "member", 200, ""},
		{"/me/feed.atom", "/me/feed.atom", "member", 200, ""},
		{"/me/feed.rss", "/me/feed.rss", "anonymous", 404, ""},
		{"/me/feed.json", "/me/feed.json", "member", 200, ""},
		{"/feeds.opml", "/feeds.opml", "member", 200, ""},
		{"/p/:project/:post/comments.atom", "/p/apollo/launch-plan/comments.atom", "member", 200, ""},
		{"/p/:project/:post/comments.rss", "/p/apollo/launch-plan/comments.rss", "member", 200, ""},
		{"/p/:project/:post/comments.json", "/p/apollo/launch-plan/comments.json", "anonymous", 404, ""},
		{"/p/:project/decisions", "/p/apollo/decisions", "member", 200, ""},
		{"/digest", "/digest", "member", 200, ""},
		{"/digest", "/digest", "anonymous", 303, "/login?next=%2Fdigest"},
		{"/digest.atom", "/digest.atom", "anonymous", 404, ""},
		{"/unsubscribe/:token", "/unsubscribe/nope", "anonymous", 404, ""},
		{"/guest/:token", "/guest/pbg_nope", "anonymous", 404, ""}, // guests_test.go covers a valid link
		{"/admin/outbox", "/admin/outbox", "admin", 200, ""},
		{"/admin/backup", "/admin/backup", "member", 404, ""},
		{"/admin/backup", "/admin/backup", "admin", 200, ""},
		{"/p/:project/people.json", "/p/apollo/people.json?q=a", "member", 200, ""},
		{"/feeds.opml", "/feeds.opml", "anonymous", 401, ""},
		// The JSON API (api_test.go covers it with tokens): without a
		// bearer token it is 401 in JSON, also for a reader whose browser
		// sends a session cookie, which the API does not read.
		{"/api/v1/me", "/api/v1/me", "anonymous", 401, ""},
		{"/api/v1/projects", "/api/v1/projects", "member", 401, ""},
		{"/api/v1/projects/:slug", "/api/v1/projects/apollo", "admin", 401, ""},
		{"/api/v1/projects/:slug/posts", "/api/v1/projects/apollo/posts", "member", 401, ""},
		{"/api/v1/posts/:id", fmt.Sprintf("/api/v1/posts/%d", re.post.ID), "owner", 401, ""},
		{"/api/v1/posts/:id/comments", fmt.Sprintf("/api/v1/posts/%d/comments", re.post.ID), "anonymous", 401, ""},
		// Search (search_test.go covers it).
		{"/search", "/search?q=launch", "member", 200, ""},
		{"/search", "/search", "anonymous", 200, ""},
		{"/search", "/search?q=", "anonymous", 400, ""},
		{"/api/v1/search", "/api/v1/search?q=launch", "member", 401, ""},
		// Attachments (attachments_test.go covers them with files).
		{"/p/:project/files/:id/:name", "/p/apollo/files/999/x.png", "member", 404, ""},
	}
	covered := map[string]bool{}
	for _, tc := range gets {
		covered["GET "+tc.route] = true
		t.Run("GET "+tc.path+" as "+tc.reader, func(t *testing.T) {
			res := re.clients[tc.reader].get(tc.path)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d", res.Status, tc.status)
			}
			if loc := res.Header.Get("Location"); loc != tc.location {
				t.Errorf("Location %q, want %q", loc, tc.location)
			}
			if strings.HasPrefix(tc.path, "/api/") && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q, want JSON", res.Header.Get("Content-Type"))
			}
			if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") && tc.location == "" {
				pageStructure(t, tc.path, res.Body)
			}
		})
	}

	// Every POST route refuses a form without the CSRF token, also from a
	// reader with a session and the CSRF cookie, and changes nothing.
	postRoutes := []struct{ route, path string }{
		{"/login", "/login"},
		{"/logout", "/logout"},
		{"/preview", "/preview"},
		{"/new", "/new"},
		{"/p/:project/new", "/p/apollo/new"},
		{"/p/:project/:post/edit", "/p/apollo/launch-plan/edit"},
		{"/p/:project/:post/delete", "/p/apollo/launch-plan/delete"},
		{"/p/:project/:post/restore", "/p/apollo/old-news/restore"},
		{"/p/:project/:post/pin", "/p/apollo/launch-plan/pin"},
		{"/p/:project/settings", "/p/apollo/settings"},
		{"/p/:project/archived", "/p/apollo/archived"},
		{"/p/:project/members", "/p/apollo/members"},
		{"/p/:project/members/:user", fmt.Sprintf("/p/apollo/members/%d", re.member.ID)},
		{"/p/:project/webhooks", "/p/apollo/webhooks"},
		{"/p/:project/webhooks/:id/delete", "/p/apollo/webhooks/1/delete"},
		{"/p/:project/webhooks/:id/test", "/p/apollo/webhooks/1/test"},
		{"/p/:project/webhooks/:id/active", "/p/apollo/webhooks/1/active"},
		{"/p/:project/webhooks/:id/retry", "/p/apollo/webhooks/1/retry"},
		{"/settings/profile", "/settings/profile"},
		{"/settings/password", "/settings/password"},
		{"/settings/feed-token", "/settings/feed-token"},
		{"/settings/api-tokens", "/settings/api-tokens"},
		{"/settings/api-tokens/:id/revoke", "/settings/api-tokens/1/revoke"},
		{"/p/:project/:post/comments", "/p/apollo/launch-plan/comments"},
		{"/p/:project/:post/comments/:id/edit", "/p/apollo/launch-plan/comments/1/edit"},
		{"/p/:project/:post/comments/:id/delete", "/p/apollo/launch-plan/comments/1/delete"},
		{"/p/:project/:post/react", "/p/apollo/launch-plan/react"},
		{"/p/:project/:post/decision", "/p/apollo/launch-plan/decision"},
		{"/p/:project/:post/acks", "/p/apollo/launch-plan/acks"},
		{"/p/:project/:post/ack", "/p/apollo/launch-plan/ack"},
		{"/p/:project/cadence", "/p/apollo/cadence"},
		{"/settings/notifications", "/settings/notifications"},
		{"/settings/follow", "/settings/follow"},
		{"/guest/leave", "/guest/leave"},
		{"/p/:project/guests", "/p/apollo/guests"},
		{"/p/:project/guests/:id/delete", "/p/apollo/guests/1/delete"},
		{"/p/:project/guests/:id/renew", "/p/apollo/guests/1/renew"},
		{"/admin/users", "/admin/users"},
		{"/admin/users/:id", fmt.Sprintf("/admin/users/%d", re.member.ID)},
		{"/p/:project/attachments", "/p/apollo/attachments"},
		{"/p/:project/files/:id/delete", "/p/apollo/files/1/delete"},
	}
	// A form that would change something were its token there.
	form := url.Values{
		"email": {re.admin.Email}, "password": {testPassword}, "name": {"Renamed"}, "slug": {"gemini"},
		"visibility": {"public"}, "title": {"Forged"}, "body": {"Forged."}, "action": {"deactivate"},
		"archived": {"1"}, "pinned": {"1"}, "role": {"owner"}, "remove": {"1"},
		"current": {testPassword}, "new": {"another password 123"}, "confirm": {"another password 123"},
	}
	head := re.db.Head()
	for _, tc := range postRoutes {
		covered["POST "+tc.route] = true
		for _, reader := range []string{"anonymous", "admin"} {
			t.Run("POST "+tc.path+" as "+reader+" without CSRF token", func(t *testing.T) {
				res := re.clients[reader].postRaw(tc.path, form)
				if res.Status != http.StatusForbidden {
					t.Fatalf("status %d, want 403", res.Status)
				}
			})
		}
	}
	if re.db.Head() != head {
		t.Error("a POST without a CSRF token wrote events")
	}
	if res := re.clients["admin"].get("/settings"); res.Status != http.StatusOK || !strings.Contains(res.Body, "Ada Admin") {
		t.Errorf("the admin's session did not survive the forged logout and password change: %d", res.Status)
	}
	if res := re.clients["admin"].get("/p/apollo/launch-plan"); res.Status != http.StatusOK {
		t.Errorf("the post is gone after a forged delete: %d", res.Status)
	}

	// The one exception to "every POST needs a CSRF token": RFC 8058's
	// one-click unsubscribe, POSTed by mail clients, authenticated by its
	// token (TestUnsubscribeWithoutLogin).
	covered["POST /unsubscribe/:token"] = true
	// The JSON API is exempt too: it authenticates with a bearer token,
	// which a browser never sends on its own, and does not read the
	// session cookie, so a forged request from a browser with a session
	// is simply unauthenticated (api_test.go covers the API with tokens).
	for _, r := range []string{"/api/v1/projects/:slug/posts", "/api/v1/posts/:id/comments", "/api/v1/posts/:id/attachments"} {
		covered["POST "+r] = true
	}
	for _, path := range []string{"/api/v1/projects/apollo/posts", fmt.Sprintf("/api/v1/posts/%d/comments", re.post.ID), fmt.Sprintf("/api/v1/posts/%d/attachments", re.post.ID)} {
		if res := re.clients["admin"].postRaw(path, form); res.Status != http.StatusUnauthorized ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("POST %s with a session and no token: %d %s, want 401 JSON", path, res.Status, res.Header.Get("Content-Type"))
		}
	}
	if re.db.Head() != head {
		t.Error("a POST to the API without a token wrote events")
	}
	for _, r := range registeredRoutes(t, re.env) {
		if !covered[r] {
			t.Errorf("route %s has no case in TestEveryRouteAnswers", r)
		}
	}
}

// TestPreview: the live preview answers a member with the same sanitised
// HTML a saved post gets, and an anonymous reader with 401.
func TestPreview(t *testing.T) {
	re := newRoutesEnv(t)
	body := "<script>alert(1)</script>\n\n**bold** <img src=\"x.png\" alt=\"x\" onerror=\"alert(2)\">\n\n[click](javascript:alert(3))\n"
	res := re.clients["member"].post("/preview", url.Values{"body": {body}})
	if res.Status != http.StatusOK {
		t.Fatalf("member: %d\n%s", res.Status, res.Body)
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q", res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	var strong bool
	walk(t, res.Body, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		if n.Data == "script" {
			t.Errorf("a <script> element came back: %s", res.Body)
		}
		if n.Data == "strong" && textOf(n) == "bold" {
			strong = true
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || strings.HasPrefix(strings.TrimSpace(strings.ToLower(a.Val)), "javascript:") {
				t.Errorf("<%s %s=%q> came back", n.Data, a.Key, a.Val)
			}
		}
		return true
	})
	if !strong {
		t.Errorf("the Markdown was not rendered: %s", res.Body)
	}

	res = re.clients["anonymous"].post("/preview", url.Values{"body": {"**bold**"}})
	if res.Status != http.StatusUnauthorized || strings.Contains(res.Body, "<strong>bold</strong>") {
		t.Fatalf("anonymous: %d\n%s", res.Status, res.Body)
	}
}

// secret is the one-time password the admin page shows.
func secret(t *testing.T, body string) string {
	t.Helper()
	got := texts(t, body, "code", "secret")
	if len(got) != 1 || got[0] == "" {
		t.Fatalf("no one-time password on the page: %q", got)
	}
	return got[0]
}

func loginWith(c *client, email, password string) response {
	return c.post("/login", url.Values{"email": {email}, "password": {password}})
}

// TestAdminUserFlows: an admin creates an account and hands over the
// one-time password, resets it, and deactivates the account, which ends
// its sessions and its logins.
func TestAdminUserFlows(t *testing.T) {
	re := newRoutesEnv(t)
	admin := re.clients["admin"]
	const email = "newbie@example.com"

	// Others may not create accounts: a member gets 404, anonymous 401.
	for reader, want := range map[string]int{"member": http.StatusNotFound, "anonymous": http.StatusUnauthorized} {
		if res := re.clients[reader].post("/admin/users", url.Values{"email": {email}, "name": {"Newbie"}}); res.Status != want {
			t.Errorf("POST /admin/users as %s: %d, want %d", reader, res.Status, want)
		}
	}
	if _, err := re.users.ByEmail(email); err == nil {
		t.Fatal("a refused request created the account")
	}

	res := admin.post("/admin/users", url.Values{"email": {email}, "name": {"Newbie"}})
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, Cache-Control %q\n%s", res.Status, res.Header.Get("Cache-Control"), res.Body)
	}
	pw1 := secret(t, res.Body)
	u, err := re.users.ByEmail(email)
	if err != nil || u.Admin || !u.Active {
		t.Fatalf("created account: %+v, %v", u, err)
	}
	newbie := re.client()
	if res := loginWith(newbie, email, pw1); res.Status != http.StatusSeeOther {
		t.Fatalf("login with the one-time password: %d", res.Status)
	}
	if res := newbie.get("/settings"); res.Status != http.StatusOK || !strings.Contains(res.Body, "Newbie") {
		t.Fatalf("settings as the new user: %d", res.Status)
	}

	// Reset: a new password, shown once; the old one and the sessions end.
	res = admin.post(fmt.Sprintf("/admin/users/%d", u.ID), url.Values{"action": {"reset_password"}})
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset: %d\n%s", res.Status, res.Body)
	}
	pw2 := secret(t, res.Body)
	if pw2 == pw1 {
		t.Fatal("the reset password is the old one")
	}
	if res := newbie.get("/settings"); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fsettings" {
		t.Errorf("the session outlived the password reset: %d %q", res.Status, res.Header.Get("Location"))
	}
	if res := loginWith(re.client(), email, pw1); res.Status != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d", res.Status)
	}
	if res := loginWith(newbie, email, pw2); res.Status != http.StatusSeeOther {
		t.Fatalf("login with the reset password: %d", res.Status)
	}

	// Deactivate: the open session stops working, and so does the login.
	res = admin.post(fmt.Sprintf("/admin/users/%d", u.ID), url.Values{"action": {"deactivate"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users" {
		t.Fatalf("deactivate: %d %q\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	if res := newbie.get("/settings"); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fsettings" {
		t.Errorf("the session of a deactivated user still works: %d %q", res.Status, res.Header.Get("Location"))
	}
	if res := loginWith(re.client(), email, pw2); res.Status != http.StatusUnauthorized {
		t.Errorf("a deactivated user logged in: %d", res.Status)
	}
}

// TestExpiredSession: after 30 days without a visit the session is over.
// The next page treats the reader as anonymous and says why; a form sent
// from a page opened before is refused and changes nothing, and after
// logging in again the post is as it was.
func TestExpiredSession(t *testing.T) {
	re := newRoutesEnv(t)
	browsing := re.clients["owner"]
	if res := browsing.get("/p/apollo"); res.Status != http.StatusOK { // and reads the welcome
		t.Fatalf("project before expiry: %d", res.Status)
	}
	tab := re.client().login(re.owner.Email)
	edit := tab.get("/p/apollo/launch-plan/edit")
	token, base := formValue(t, edit.Body, "_csrf"), formValue(t, edit.Body, "base_revision")
	if token == "" || base == "" {
		t.Fatalf("edit form: %d", edit.Status)
	}

	re.clock.Add(31 * 24 * time.Hour)
	head := re.db.Head()
	before, _, err := re.posts.Post(re.owner.Actor(), re.post.ID)
	if err != nil {
		t.Fatal(err)
	}

	// The next page: anonymous, with the reason.
	res := browsing.get("/")
	if res.Status != http.StatusOK {
		t.Fatalf("home: %d", res.Status)
	}
	if got := texts(t, res.Body, "p", "flash"); len(got) != 1 || got[0] != "Your session has expired; please log in again." {
		t.Errorf("flash %q", got)
	}
	if strings.Contains(res.Body, re.owner.Name) || formValue(t, res.Body, "_csrf") != "" {
		t.Error("the page still shows the owner as logged in")
	}
	if res := browsing.get("/p/apollo"); res.Status != http.StatusNotFound {
		t.Errorf("the internal project after expiry: %d", res.Status)
	}
	if res := browsing.post("/p/apollo/launch-plan/edit", url.Values{"title": {"Lost"}, "body": {"x"}, "base_revision": {base}}); res.Status != http.StatusUnauthorized {
		t.Errorf("edit after expiry: %d", res.Status)
	}

	// The tab opened before sends its form: the first request after
	// expiry.
	form := url.Values{"_csrf": {token}, "title": {"Launch plan, final"}, "body": {"Everything changed."}, "base_revision": {base}, "action": {"publish"}}
	res = tab.postRaw("/p/apollo/launch-plan/edit", form)
	if res.Status != http.StatusUnauthorized {
		t.Fatalf("the old tab's form: %d", res.Status)
	}
	if got := texts(t, res.Body, "p", "flash"); len(got) != 1 || !strings.Contains(got[0], "session has expired") {
		t.Errorf("the refusal does not say the session expired: %q", got)
	}

	after, _, err := re.posts.Post(re.owner.Actor(), re.post.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Title != before.Title || after.Body != before.Body || after.Revision != before.Revision || re.db.Head() != head {
		t.Fatalf("a refused form changed the post: %q rev %d", after.Title, after.Revision)
	}

	// Log in again: the post is intact and the same form now works.
	tab.login(re.owner.Email)
	if res := tab.get("/p/apollo/launch-plan"); res.Status != http.StatusOK || !slices.Equal(texts(t, res.Body, "h1", "p-name"), []string{before.Title}) {
		t.Fatalf("the post after logging in again: %d", res.Status)
	}
	delete(form, "_csrf")
	if res := tab.post("/p/apollo/launch-plan/edit", form); res.Status != http.StatusSeeOther {
		t.Fatalf("resubmitting after login: %d\n%s", res.Status, res.Body)
	}
}
