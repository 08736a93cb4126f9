package web_test

import (
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/i18n"
	"projblog/themes"
)

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	res := e.client().get("/healthz")
	if res.Status != http.StatusOK || strings.TrimSpace(res.Body) != "ok" {
		t.Fatalf("healthz: %d %q", res.Status, res.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/login", "/no/such/page", "/healthz"} {
		res := e.client().get(path)
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows unsafe-inline: %q", path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		if res.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: no Referrer-Policy", path)
		}
	}
}

func TestStaticAssetsAreHashedAndImmutable(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	home := c.get("/")
	var css string
	walk(t, home.Body, func(n *htmlNode) bool {
		if n.Data == "link" && attr(n, "rel") == "stylesheet" && strings.Contains(attr(n, "href"), "/static/style.") {
			css = attr(n, "href")
			return false
		}
		return true
	})
	if css == "" {
		t.Fatal("no hashed stylesheet link on the home page")
	}
	res := c.get(css)
	if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d, Cache-Control %q", css, res.Status, res.Header.Get("Cache-Control"))
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Errorf("content type %q", res.Header.Get("Content-Type"))
	}
	if c.get("/static/nope.123.css").Status != http.StatusNotFound {
		t.Error("unknown asset is not 404")
	}
}

func TestLoginLogout(t *testing.T) {
	e := newEnv(t)
	e.user("ada@example.com", "Ada Lovelace", false)

	t.Run("WrongPassword", func(t *testing.T) {
		c := e.client()
		res := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"nope-nope-nope"}})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("status %d", res.Status)
		}
		if formValue(t, res.Body, "email") != "ada@example.com" {
			t.Error("the form lost the e-mail typed")
		}
		if !strings.Contains(res.Body, "Wrong e-mail or password.") {
			t.Error("no clear message")
		}
	})
	t.Run("OK", func(t *testing.T) {
		c := e.client().login("ada@example.com")
		res := c.get("/settings")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "Ada Lovelace") {
			t.Fatalf("settings after login: %d", res.Status)
		}
		var cookie *http.Cookie
		for _, ck := range c.http.Jar.Cookies(mustURL(e.srv.URL)) {
			if ck.Name == "projblog_session" {
				cookie = ck
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie")
		}
		res = c.post("/logout", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.Status)
		}
		if got := c.get("/settings"); got.Status != http.StatusSeeOther || !strings.HasPrefix(got.Header.Get("Location"), "/login") {
			t.Fatalf("settings after logout: %d %s", got.Status, got.Header.Get("Location"))
		}
	})
	t.Run("SessionCookieFlags", func(t *testing.T) {
		c := e.client()
		res := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		sc := strings.Join(res.Header.Values("Set-Cookie"), "\n")
		if !strings.Contains(sc, "projblog_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Fatalf("Set-Cookie: %s", sc)
		}
	})
	t.Run("OpenRedirectRefused", func(t *testing.T) {
		c := e.client()
		res := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"//evil.example/x"}})
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Fatalf("redirected to %q", loc)
		}
	})
}

func TestCSRFRequired(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Owner", false)
	e.project(owner, "apollo", access.Internal)
	c := e.client().login("owner@example.com")
	res := c.postRaw("/p/apollo/new", url.Values{"title": {"Hello"}, "body": {"text"}})
	if res.Status != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %d", res.Status)
	}
	if !strings.Contains(res.Body, "nothing was saved yet") {
		t.Errorf("no readable message: %s", res.Body)
	}
	// Any other form gets a page that says what happened.
	res = c.postRaw("/settings/profile", url.Values{"name": {"New name"}})
	if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "form has expired") {
		t.Fatalf("profile without CSRF token: %d", res.Status)
	}
	res = c.postRaw("/p/apollo/new", url.Values{"title": {"Hello"}, "body": {"text"}, "_csrf": {"forged"}})
	if res.Status != http.StatusForbidden {
		t.Fatalf("POST with a forged CSRF token: %d", res.Status)
	}
}

func TestWriteReadEditFlow(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", "Olive Owner", false)
	c := e.client().login("owner@example.com")

	res := c.post("/new", url.Values{"name": {"Apollo"}, "slug": {"apollo"}, "visibility": {"internal"}, "description": {"Moon."}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/p/apollo" {
		t.Fatalf("create project: %d %s\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}

	body := "Intro paragraph.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfunc main() {}\n```\n"
	res = c.post("/p/apollo/new", url.Values{"title": {"Launch plan"}, "body": {body}, "tags": {"Launch, Q3"}, "action": {"publish"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", res.Status, res.Body)
	}
	postPath := res.Header.Get("Location")
	if postPath != "/p/apollo/launch-plan" {
		t.Fatalf("post URL %q", postPath)
	}
	page := c.get(postPath)
	if page.Status != http.StatusOK {
		t.Fatalf("post page: %d", page.Status)
	}
	if got := texts(t, page.Body, "h1", "p-name"); len(got) != 1 || got[0] != "Launch plan" {
		t.Errorf("title %v", got)
	}
	if len(texts(t, page.Body, "table", "")) != 1 || len(texts(t, page.Body, "td", "")) != 2 {
		t.Error("the table did not render")
	}
	if !strings.Contains(page.Body, `class="chroma"`) && !strings.Contains(page.Body, "chroma") {
		t.Error("the code block is not highlighted")
	}
	proj := c.get("/p/apollo")
	if got := texts(t, proj.Body, "article", "entry"); len(got) != 1 || !strings.Contains(got[0], "Launch plan") {
		t.Errorf("project page entries %v", got)
	}

	// Edit with a new slug: a revision, a diff, and a 301 from the old URL.
	edit := c.get(postPath + "/edit")
	base := formValue(t, edit.Body, "base_revision")
	res = c.post(postPath+"/edit", url.Values{"title": {"Launch plan v2"}, "body": {body + "\nMore.\n"}, "tags": {"launch"},
		"slug": {"launch-plan-v2"}, "base_revision": {base}, "action": {"publish"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/p/apollo/launch-plan-v2" {
		t.Fatalf("edit: %d %s\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	old := c.get(postPath)
	if old.Status != http.StatusMovedPermanently || old.Header.Get("Location") != "/p/apollo/launch-plan-v2" {
		t.Fatalf("old slug: %d %s", old.Status, old.Header.Get("Location"))
	}
	hist := c.get("/p/apollo/launch-plan-v2/history")
	if hist.Status != http.StatusOK || len(texts(t, hist.Body, "tr", "")) != 3 { // header + 2 revisions
		t.Fatalf("history: %d, rows %d", hist.Status, len(texts(t, hist.Body, "tr", "")))
	}
	diff := c.get("/p/apollo/launch-plan-v2/diff?from=1&to=2")
	if diff.Status != http.StatusOK {
		t.Fatalf("diff: %d", diff.Status)
	}
	if ins := texts(t, diff.Body, "ins", ""); len(ins) == 0 || !strings.Contains(strings.Join(ins, "\n"), "More.") {
		t.Errorf("diff shows no insertion of the new line: %v", ins)
	}

	// A stale edit comes back with the text typed and a conflict message.
	res = c.post("/p/apollo/launch-plan-v2/edit", url.Values{"title": {"Stale"}, "body": {"my precious text"}, "base_revision": {base}, "action": {"publish"}})
	if res.Status != http.StatusConflict {
		t.Fatalf("stale edit: %d", res.Status)
	}
	if !strings.Contains(res.Body, "my precious text") {
		t.Error("the stale edit lost what was typed")
	}

	// Delete, then restore as the owner.
	res = c.post("/p/apollo/launch-plan-v2/delete", nil)
	if res.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.Status)
	}
	if got := texts(t, c.get("/p/apollo").Body, "article", "entry"); len(got) != 0 {
		t.Errorf("deleted post still listed: %v", got)
	}
	if e.client().get("/p/apollo/launch-plan-v2").Status != http.StatusNotFound {
		t.Error("deleted post visible to an anonymous reader")
	}
	res = c.post("/p/apollo/launch-plan-v2/restore", nil)
	if res.Status != http.StatusSeeOther {
		t.Fatalf("restore: %d\n%s", res.Status, res.Body)
	}
	if got := texts(t, c.get("/p/apollo").Body, "article", "entry"); len(got) != 1 {
		t.Errorf("restored post not listed: %v", got)
	}
}

func TestBadInputKeepsWhatWasTyped(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Owner", false)
	e.project(owner, "apollo", access.Internal)
	c := e.client().login("owner@example.com")

	cases := []struct {
		name   string
		form   url.Values
		status int
		field  string
	}{
		{"EmptyTitle", url.Values{"title": {""}, "body": {"keep me"}}, http.StatusUnprocessableEntity, "title"},
		{"TitleTooLong", url.Values{"title": {strings.Repeat("x", 201)}, "body": {"keep me"}}, http.StatusUnprocessableEntity, "title"},
		{"InvalidUTF8", url.Values{"title": {"ok"}, "body": {"keep me \xff"}}, http.StatusUnprocessableEntity, "body"},
		{"TooManyTags", url.Values{"title": {"ok"}, "body": {"keep me"}, "tags": {"a,b,c,d,e,f,g,h,i,j,k"}}, http.StatusUnprocessableEntity, "tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("action", "publish")
			res := c.post("/p/apollo/new", tc.form)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d", res.Status, tc.status)
			}
			if !strings.Contains(res.Body, "keep me") {
				t.Error("the body typed is gone")
			}
			if len(texts(t, res.Body, "p", "field-error")) == 0 {
				t.Error("no field error shown")
			}
			if !strings.Contains(res.Body, `aria-describedby="err-`+tc.field+`"`) {
				t.Errorf("field %s not marked invalid", tc.field)
			}
		})
	}
	t.Run("DuplicateProjectSlug", func(t *testing.T) {
		res := c.post("/new", url.Values{"name": {"Second"}, "slug": {"apollo"}, "visibility": {"internal"}, "description": {"typed text"}})
		if res.Status != http.StatusConflict || !strings.Contains(res.Body, "typed text") {
			t.Fatalf("duplicate slug: %d", res.Status)
		}
	})
	t.Run("UnknownProject", func(t *testing.T) {
		res := c.get("/p/no-such-project")
		if res.Status != http.StatusNotFound || !strings.Contains(res.Body, "Not found") {
			t.Fatalf("unknown project: %d", res.Status)
		}
	})
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/login", nil)
	req.Header.Set("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.5")
	res := c.do(req)
	if !strings.Contains(res.Body, `<html lang="fr">`) || !strings.Contains(res.Body, "Mot de passe") {
		t.Fatal("Accept-Language fr-CA did not give French")
	}
	u := e.user("fr@example.com", "Frédérique", false)
	if _, err := e.users.UpdateProfile(u.ID, usersProfile("Frédérique", "America/Toronto", "fr")); err != nil {
		t.Fatal(err)
	}
	fc := e.client().login("fr@example.com")
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/settings", nil)
	req.Header.Set("Accept-Language", "en")
	if res := fc.do(req); !strings.Contains(res.Body, "Vos paramètres") {
		t.Fatal("the user's language setting did not win over Accept-Language")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestLanguageSwitcherIsRemembered(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	if res := c.get("/login?lang=fr"); !strings.Contains(res.Body, "Mot de passe") {
		t.Fatal("?lang=fr did not switch")
	}
	if res := c.get("/login"); !strings.Contains(res.Body, "Mot de passe") {
		t.Fatal("the choice was not remembered on the next page")
	}
	if res := c.get("/login?lang=en"); !strings.Contains(res.Body, "Password") {
		t.Fatal("?lang=en did not switch back")
	}
}

// TestTemplatesUseKnownMessages: every message key a template asks for
// exists in the catalogue (dynamic keys built with printf are checked by
// the pages that use them).
func TestTemplatesUseKnownMessages(t *testing.T) {
	re := regexp.MustCompile(`\.(T|N) "([a-z_.]+)"`)
	files, err := fs.Glob(themes.Default(), "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v", err)
	}
	for _, f := range files {
		b, _ := fs.ReadFile(themes.Default(), f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			key := m[2]
			if m[1] == "N" {
				key += ".one"
			}
			for _, l := range i18n.Languages {
				if !i18n.Has(l, key) {
					t.Errorf("%s: %s lacks %q", f, l, key)
				}
			}
		}
	}
}

// TestExpiredFormKeepsThePost: a post submitted with a stale CSRF token (a
// tab left open while the cookie expired) comes back in the editor with the
// text, and submitting that form works.
func TestExpiredFormKeepsThePost(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Owner", false)
	e.project(owner, "apollo", access.Internal)
	c := e.client().login("owner@example.com")
	res := c.postRaw("/p/apollo/new", url.Values{"title": {"Long post"}, "body": {"an hour of writing"}, "_csrf": {"stale"}, "action": {"publish"}})
	if res.Status != http.StatusForbidden {
		t.Fatalf("stale token: %d", res.Status)
	}
	if !strings.Contains(res.Body, "an hour of writing") || formValue(t, res.Body, "title") != "Long post" {
		t.Fatal("the editor did not come back with the text")
	}
	if !strings.Contains(res.Body, "nothing was saved yet") {
		t.Error("no explanation shown")
	}
	form := url.Values{"title": {"Long post"}, "body": {"an hour of writing"}, "action": {"publish"}, "_csrf": {formValue(t, res.Body, "_csrf")}}
	if res := c.postRaw("/p/apollo/new", form); res.Status != http.StatusSeeOther {
		t.Fatalf("resubmitting the returned form: %d", res.Status)
	}
}

// TestExpiredSessionResumesEditor: the session expires while someone
// writes; submitting brings a login form that carries the text, and logging
// in brings the editor back with it.
func TestExpiredSessionResumesEditor(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Owner", false)
	e.project(owner, "apollo", access.Internal)
	c := e.client().login("owner@example.com")
	tok := formValue(t, c.get("/p/apollo/new").Body, "_csrf")
	e.clock.Add(31 * 24 * time.Hour)

	res := c.postRaw("/p/apollo/new", url.Values{"_csrf": {tok}, "title": {"Weekly"}, "body": {"three paragraphs of careful prose"}, "tags": {"status"}, "action": {"publish"}})
	if res.Status != http.StatusUnauthorized {
		t.Fatalf("post after expiry: %d", res.Status)
	}
	if formValue(t, res.Body, "body") != "three paragraphs of careful prose" || formValue(t, res.Body, "resume") != "1" {
		t.Fatal("the login form does not carry the text")
	}
	form := url.Values{"email": {"owner@example.com"}, "password": {testPassword}}
	walk(t, res.Body, func(n *htmlNode) bool {
		if n.Data == "input" && attr(n, "type") == "hidden" {
			form.Set(attr(n, "name"), attr(n, "value"))
		}
		return true
	})
	res = c.postRaw("/login", form)
	if res.Status != http.StatusOK {
		t.Fatalf("login to resume: %d", res.Status)
	}
	if !strings.Contains(res.Body, "three paragraphs of careful prose") || formValue(t, res.Body, "title") != "Weekly" || formValue(t, res.Body, "tags") != "status" {
		t.Fatal("the editor did not come back with the text")
	}
	if pg, _ := e.posts.Recent(owner.Actor(), "", 10); len(pg.Posts) != 0 {
		t.Fatal("something was published without the person submitting it")
	}
	res = c.postRaw("/p/apollo/new", url.Values{"_csrf": {formValue(t, res.Body, "_csrf")}, "title": {"Weekly"}, "body": {"three paragraphs of careful prose"}, "action": {"publish"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("submitting the resumed editor: %d", res.Status)
	}
}
