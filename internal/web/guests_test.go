package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// guestWorld is a site with a private project Apollo that has a guest,
// and projects the guest must never see: another private one, an
// internal one, and a public one (which anyone reads).
type guestWorld struct {
	*env
	owner, member *users.User
	launch        *posts.Post // in Apollo, with a comment and a tag
	secret        *posts.Post // in Hermes (private)
	inner         *posts.Post // in Heron (internal)
	ownerC        *client
}

func newGuestWorld(t *testing.T) *guestWorld {
	e := newEnv(t)
	w := &guestWorld{env: e,
		owner:  e.user("olive@example.com", "Olive Owner", false),
		member: e.user("mia@example.com", "Mia Member", false),
	}
	e.project(w.owner, "apollo", access.Private)
	e.project(w.owner, "hermes", access.Private)
	e.project(w.owner, "heron", access.Internal)
	e.project(w.owner, "agora", access.Public)
	if err := e.posts.SetMember(w.owner.Actor(), "apollo", w.member.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.launch, err = e.posts.CreatePost(w.member.Actor(), "apollo", posts.PostInput{Title: "Apollo launch plan", Body: "We launch in **March**.", Tags: []string{"launch"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.posts.AddComment(w.owner.Actor(), w.launch.ID, posts.CommentInput{Body: "Apollo comment: agreed."}); err != nil {
		t.Fatal(err)
	}
	w.secret = e.post(w.owner, "hermes", "Hermes secret plan", "Members only.")
	w.inner = e.post(w.owner, "heron", "Heron internal memo", "Staff only.")
	e.post(w.owner, "agora", "Agora open letter", "For everyone.")
	w.ownerC = e.client().login(w.owner.Email)
	return w
}

// addGuest adds a guest to Apollo through the settings page and returns
// them with their current token.
func (w *guestWorld) addGuest(t *testing.T, email string) (notify.Guest, string) {
	t.Helper()
	res := w.ownerC.post("/p/apollo/guests", url.Values{"guest_email": {email}, "guest_mode": {"weekly"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/p/apollo/settings#guests-h" {
		t.Fatalf("add guest: %d %q\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	list, err := w.notify.Guests(w.owner.Actor(), "apollo")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range list {
		if g.Email == strings.ToLower(email) {
			tok, err := w.notify.GuestToken(&g)
			if err != nil {
				t.Fatal(err)
			}
			return g, tok
		}
	}
	t.Fatalf("guest %s is not on the list %+v", email, list)
	return notify.Guest{}, ""
}

// guestClient opens the magic link in a fresh browser.
func (w *guestWorld) guestClient(t *testing.T, token string) *client {
	t.Helper()
	c := w.client()
	res := c.get("/guest/" + token)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/p/apollo" {
		t.Fatalf("magic link: %d to %q", res.Status, res.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, k := range (&http.Response{Header: res.Header}).Cookies() {
		if k.Name == notify.GuestCookie {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.Value != token || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("guest cookie %+v", ck)
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("magic link headers %v", res.Header)
	}
	return c
}

// TestGuestManagement: the owner adds a guest on the project's settings
// page (CSRF, validation with the typed address kept), sees the list;
// nobody else may.
func TestGuestManagement(t *testing.T) {
	w := newGuestWorld(t)
	res := w.ownerC.get("/p/apollo/settings")
	if res.Status != http.StatusOK || formValue(t, res.Body, "guest_email") != "" || !strings.Contains(res.Body, "No guests yet.") {
		t.Fatalf("settings page: %d", res.Status)
	}
	for _, c := range []struct {
		email string
		want  int
		msg   string
	}{
		{"not an address", http.StatusUnprocessableEntity, "valid email address"},
		{"mia@example.com", http.StatusUnprocessableEntity, "add them as a viewer"},
	} {
		res := w.ownerC.post("/p/apollo/guests", url.Values{"guest_email": {c.email}, "guest_mode": {"weekly"}})
		if res.Status != c.want {
			t.Fatalf("%q: %d, want %d", c.email, res.Status, c.want)
		}
		if got := texts(t, res.Body, "p", "field-error"); len(got) != 1 || !strings.Contains(got[0], c.msg) {
			t.Errorf("%q: field error %q", c.email, got)
		}
		if v := formValue(t, res.Body, "guest_email"); v != c.email {
			t.Errorf("typed address not kept: %q", v)
		}
		pageStructure(t, "guest error", res.Body)
	}
	if res := w.ownerC.postRaw("/p/apollo/guests", url.Values{"guest_email": {"client@outside.example"}}); res.Status != http.StatusForbidden {
		t.Errorf("without CSRF token: %d", res.Status)
	}
	g, _ := w.addGuest(t, "Client@Outside.example")
	if got := texts(t, w.ownerC.get("/p/apollo/settings").Body, "p", "flash"); len(got) != 1 || !strings.HasPrefix(got[0], "Guest added") {
		t.Errorf("flash %q", got)
	}
	if res := w.ownerC.post("/p/apollo/guests", url.Values{"guest_email": {"client@outside.example"}}); res.Status != http.StatusConflict {
		t.Errorf("the same address again: %d", res.Status)
	}
	res = w.ownerC.get("/p/apollo/settings")
	rows := texts(t, res.Body, "td", "")
	if !strings.Contains(strings.Join(rows, "|"), "client@outside.example") {
		t.Errorf("the list does not show the guest: %q", rows)
	}
	// A member may not add, list or remove guests.
	mc := w.client().login(w.member.Email)
	if res := mc.post("/p/apollo/guests", url.Values{"guest_email": {"x@outside.example"}}); res.Status != http.StatusForbidden {
		t.Errorf("a member adds a guest: %d", res.Status)
	}
	if res := mc.post(fmt.Sprintf("/p/apollo/guests/%d/delete", g.ID), nil); res.Status != http.StatusForbidden {
		t.Errorf("a member removes a guest: %d", res.Status)
	}
	if res := w.client().postRaw(fmt.Sprintf("/p/apollo/guests/%d/delete", g.ID), nil); res.Status != http.StatusForbidden {
		t.Errorf("anonymous without CSRF: %d", res.Status)
	}
	if list, _ := w.notify.Guests(w.owner.Actor(), "apollo"); len(list) != 1 {
		t.Errorf("guests %+v", list)
	}
}

// TestGuestMagicLink: a guest's magic link reads that project — its page,
// posts, comments, tag and archive pages, feeds — and nothing else: other
// private and internal projects stay 404 (also by feed token), listings do
// not name them, and nothing can be written. Removal kills the link, the
// cookie and the feed link at once.
func TestGuestMagicLink(t *testing.T) {
	w := newGuestWorld(t)
	g, token := w.addGuest(t, "client@outside.example")
	gc := w.guestClient(t, token)

	// What the guest reads.
	for _, path := range []string{"/p/apollo", "/p/apollo/" + w.launch.Slug, "/p/apollo/tags/launch", "/p/apollo/archive",
		fmt.Sprintf("/posts/%d", w.launch.ID), "/p/apollo/decisions", "/p/agora"} {
		res := gc.get(path)
		if path == fmt.Sprintf("/posts/%d", w.launch.ID) {
			if res.Status != http.StatusMovedPermanently {
				t.Errorf("GET %s: %d", path, res.Status)
			}
			continue
		}
		if res.Status != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, res.Status)
			continue
		}
		pageStructure(t, path, res.Body)
		if path != "/p/agora" && !strings.Contains(res.Body, "client@outside.example") {
			t.Errorf("GET %s does not say who reads as a guest", path)
		}
	}
	post := gc.get("/p/apollo/" + w.launch.Slug)
	if !strings.Contains(post.Body, "Apollo comment: agreed.") || !strings.Contains(post.Body, "We launch in <strong>March</strong>.") {
		t.Error("the guest does not see the post and its comment")
	}
	// Nothing to write with: no comment form, no follow control.
	if formValue(t, post.Body, "body") != "" || strings.Contains(post.Body, `action="/p/apollo/`+w.launch.Slug+`/comments"`) || strings.Contains(post.Body, `id="follow-post"`) {
		t.Error("the guest is offered a form to write or follow")
	}
	// Feeds: with the cookie, and with the token alone in a feed reader.
	for _, path := range []string{"/p/apollo/feed.atom", "/p/apollo/feed.json", "/p/apollo/" + w.launch.Slug + "/comments.atom", "/p/apollo/tags/launch/feed.rss"} {
		res := gc.get(path)
		if res.Status != http.StatusOK {
			t.Errorf("GET %s with the cookie: %d", path, res.Status)
		}
	}
	reader := w.client()
	res := reader.get("/p/apollo/feed.atom?token=" + token)
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "private, max-age=300" {
		t.Fatalf("the guest's feed link: %d %q", res.Status, res.Header.Get("Cache-Control"))
	}
	feed := parseFeed(t, res.Body)
	if len(feed.Items) != 1 || feed.Items[0].Title != w.launch.Title {
		t.Errorf("feed items %+v", feed.Items)
	}
	site := parseFeed(t, reader.get("/feed.atom?token="+token).Body)
	for _, it := range site.Items {
		if strings.Contains(it.Title, "Hermes") || strings.Contains(it.Title, "Heron") {
			t.Errorf("the site feed by guest token shows %q", it.Title)
		}
	}
	// The feed links on the guest's pages carry their token.
	if !strings.Contains(gc.get("/p/apollo").Body, "/p/apollo/feed.atom?token="+token) {
		t.Error("the guest's subscribe box lacks their feed link")
	}

	// What the guest may not read: 404, and the page does not name it.
	for _, path := range []string{"/p/hermes", "/p/hermes/" + w.secret.Slug, "/p/heron", "/p/heron/" + w.inner.Slug,
		"/p/hermes/feed.atom", "/p/heron/feed.json", fmt.Sprintf("/posts/%d", w.secret.ID)} {
		res := gc.get(path)
		if res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.Status)
		}
		if strings.Contains(res.Body, "Hermes") || strings.Contains(res.Body, "Heron") {
			t.Errorf("GET %s names the project", path)
		}
	}
	for _, path := range []string{"/p/hermes/feed.atom?token=" + token, "/p/heron/feed.atom?token=" + token} {
		if res := reader.get(path); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.Status)
		}
	}
	for _, path := range []string{"/", "/tags/launch", "/feed.atom"} {
		body := gc.get(path).Body
		if strings.Contains(body, "Hermes") || strings.Contains(body, "Heron") {
			t.Errorf("GET %s shows another project", path)
		}
	}
	if !strings.Contains(gc.get("/").Body, "Apollo launch plan") {
		t.Error("the home page does not list the guest's project's post")
	}
	// What the guest may not do: sign-in pages send to the login; forms
	// are refused, nothing is stored.
	for _, path := range []string{"/p/apollo/new", "/settings", "/digest", "/p/apollo/settings", "/p/apollo/" + w.launch.Slug + "/edit"} {
		if res := gc.get(path); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("GET %s: %d to %q, want the login", path, res.Status, res.Header.Get("Location"))
		}
	}
	head := w.db.Head()
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/p/apollo/" + w.launch.Slug + "/comments", url.Values{"body": {"Guest comment"}}},
		{"/p/apollo/" + w.launch.Slug + "/react", url.Values{"reaction": {"+1"}}},
		{"/p/apollo/new", url.Values{"title": {"Guest post"}, "body": {"x"}, "action": {"publish"}}},
		{"/settings/follow", url.Values{fmt.Sprintf("post_%d", w.launch.ID): {"immediate"}}},
		{"/p/apollo/guests", url.Values{"guest_email": {"friend@outside.example"}}},
	} {
		res := gc.post(c.path, c.form)
		if res.Status != http.StatusUnauthorized && res.Status != http.StatusForbidden {
			t.Errorf("POST %s as a guest: %d, want 401 or 403", c.path, res.Status)
		}
	}
	if w.db.Head() != head {
		t.Error("a guest's form wrote events")
	}

	// The page cache never serves what the guest saw to anyone else.
	anon := w.client()
	for i := 0; i < 2; i++ {
		gc.get("/p/apollo")
		if res := anon.get("/p/apollo"); res.Status != http.StatusNotFound || strings.Contains(res.Body, "launch plan") {
			t.Fatalf("an anonymous reader gets the guest's page: %d", res.Status)
		}
	}

	// Removal kills the cookie, the link and the feed link at once.
	if res := w.ownerC.post(fmt.Sprintf("/p/apollo/guests/%d/delete", g.ID), nil); res.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d", res.Status)
	}
	res = gc.get("/p/apollo")
	if res.Status != http.StatusNotFound {
		t.Fatalf("after removal the guest reads Apollo: %d", res.Status)
	}
	if !strings.Contains(res.Header.Get("Set-Cookie"), notify.GuestCookie+"=;") {
		t.Errorf("the dead cookie is not cleared: %q", res.Header.Get("Set-Cookie"))
	}
	if res := w.client().get("/guest/" + token); res.Status != http.StatusNotFound {
		t.Errorf("the magic link after removal: %d", res.Status)
	}
	if res := reader.get("/p/apollo/feed.atom?token=" + token); res.Status != http.StatusNotFound {
		t.Errorf("the feed link after removal: %d", res.Status)
	}
}

// TestGuestRenewAndLeave: a new link kills the old one; "stop reading as a
// guest" forgets the cookie.
func TestGuestRenewAndLeave(t *testing.T) {
	w := newGuestWorld(t)
	g, token := w.addGuest(t, "client@outside.example")
	gc := w.guestClient(t, token)
	if res := w.ownerC.post(fmt.Sprintf("/p/apollo/guests/%d/renew", g.ID), nil); res.Status != http.StatusSeeOther {
		t.Fatalf("renew: %d", res.Status)
	}
	if res := gc.get("/p/apollo"); res.Status != http.StatusNotFound {
		t.Fatalf("the old cookie reads after a renewal: %d", res.Status)
	}
	list, _ := w.notify.Guests(w.owner.Actor(), "apollo")
	fresh, err := w.notify.GuestToken(&list[0])
	if err != nil || fresh == token {
		t.Fatalf("new token %q, %v", fresh, err)
	}
	gc = w.guestClient(t, fresh)
	if res := gc.get("/p/apollo"); res.Status != http.StatusOK {
		t.Fatalf("the new link: %d", res.Status)
	}
	if res := gc.post("/guest/leave", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("leave: %d", res.Status)
	}
	if res := gc.get("/p/apollo"); res.Status != http.StatusNotFound {
		t.Fatalf("after leaving: %d", res.Status)
	}
}

// TestGuestUnsubscribeWithoutLogin: the guest's one-click unsubscribe
// works without a login or CSRF token, as RFC 8058 wants; the owner sees
// it on the list.
func TestGuestUnsubscribeWithoutLogin(t *testing.T) {
	w := newGuestWorld(t)
	g, _ := w.addGuest(t, "client@outside.example")
	link := w.notify.GuestUnsubscribeURL(&g)
	path := strings.TrimPrefix(link, "http://projblog.test")
	if !strings.HasPrefix(path, "/unsubscribe/g.") {
		t.Fatalf("link %q", link)
	}
	c := w.client()
	res := c.get(path)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "digests of Apollo") {
		t.Fatalf("confirmation page: %d\n%s", res.Status, res.Body)
	}
	if list, _ := w.notify.Guests(w.owner.Actor(), "apollo"); list[0].EmailOff {
		t.Fatal("a GET unsubscribed")
	}
	res = c.postRaw(path, url.Values{"List-Unsubscribe": {"One-Click"}})
	if res.Status != http.StatusOK || strings.TrimSpace(res.Body) != "unsubscribed" {
		t.Fatalf("one-click: %d %q", res.Status, res.Body)
	}
	if list, _ := w.notify.Guests(w.owner.Actor(), "apollo"); !list[0].EmailOff {
		t.Fatal("the guest is not unsubscribed")
	}
	if !strings.Contains(w.ownerC.get("/p/apollo/settings").Body, "unsubscribed from e-mail") {
		t.Error("the owner's list does not show the unsubscription")
	}
	if res := c.get(path[:len(path)-2] + "xx"); res.Status != http.StatusNotFound {
		t.Errorf("an altered link: %d", res.Status)
	}
}
