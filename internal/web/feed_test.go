package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"projblog/internal/access"
	"projblog/internal/posts"
)

// getFeed fetches path with optional request headers.
func (c *client) getWith(path string, header map[string]string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

func parseFeed(t *testing.T, body string) *gofeed.Feed {
	t.Helper()
	f, err := gofeed.NewParser().ParseString(body)
	if err != nil {
		t.Fatalf("parse feed: %v\n%s", err, body)
	}
	return f
}

// feedWorld is one project of each visibility with a member, an outsider
// (logged-in non-member), a user who renewed their key and a deactivated
// member, each with a published post.
type feedWorld struct {
	e                                           *env
	memberTok, outsiderTok, oldTok, inactiveTok string
}

func newFeedWorld(t *testing.T) *feedWorld {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	outsider := e.user("out@example.com", "Otto Outsider", false)
	renewer := e.user("renew@example.com", "Rena Renewer", false)
	inactive := e.user("gone@example.com", "Gus Gone", false)
	w := &feedWorld{e: e}
	for _, vis := range []access.Visibility{access.Public, access.Internal, access.Private} {
		slug := string(vis)
		e.project(owner, slug, vis)
		for _, u := range []uint64{renewer.ID, inactive.ID} {
			if err := e.posts.SetMember(owner.Actor(), slug, u, access.Member); err != nil {
				t.Fatal(err)
			}
		}
		e.post(owner, slug, "Secret plans of "+slug, "Body of **"+slug+"**.")
	}
	var err error
	if w.memberTok, err = e.users.FeedToken(owner.ID); err != nil {
		t.Fatal(err)
	}
	w.outsiderTok, _ = e.users.FeedToken(outsider.ID)
	w.oldTok, _ = e.users.FeedToken(renewer.ID)
	if _, err := e.users.RegenerateFeedToken(renewer.ID); err != nil {
		t.Fatal(err)
	}
	w.inactiveTok, _ = e.users.FeedToken(inactive.ID)
	if err := e.users.SetActive(inactive.ID, false); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestFeedTokenMatrix(t *testing.T) {
	w := newFeedWorld(t)
	tokens := []struct{ name, token string }{
		{"NoToken", ""}, {"WrongToken", "pbf_notatokenatall"}, {"RegeneratedAway", w.oldTok},
		{"Deactivated", w.inactiveTok}, {"NonMember", w.outsiderTok}, {"Member", w.memberTok},
	}
	// Who gets the feed (Y) and who gets 404 (.), in the order of tokens.
	want := map[string]string{
		"public":   "Y...YY",
		"internal": "....YY",
		"private":  ".....Y",
	}
	c := w.e.client()
	for vis, row := range want {
		for i, tk := range tokens {
			for _, ext := range []string{".atom", ".rss", ".json"} {
				t.Run(vis+"/"+tk.name+ext, func(t *testing.T) {
					path := "/p/" + vis + "/feed" + ext
					if tk.token != "" {
						path += "?token=" + url.QueryEscape(tk.token)
					}
					res := c.get(path)
					if row[i] == 'Y' {
						if res.Status != http.StatusOK {
							t.Fatalf("status %d, want 200", res.Status)
						}
						f := parseFeed(t, res.Body)
						if len(f.Items) != 1 || f.Items[0].Title != "Secret plans of "+vis {
							t.Fatalf("items %v", f.Items)
						}
						return
					}
					if res.Status != http.StatusNotFound {
						t.Fatalf("status %d, want 404", res.Status)
					}
					if strings.Contains(res.Body, "Secret plans") {
						t.Fatal("a refused feed leaks a post title")
					}
				})
			}
		}
	}
	t.Run("SiteFeedShowsOnlyWhatTheTokenMayRead", func(t *testing.T) {
		titles := func(tok string) string {
			path := "/feed.atom"
			if tok != "" {
				path += "?token=" + url.QueryEscape(tok)
			}
			var out []string
			for _, it := range parseFeed(t, c.get(path).Body).Items {
				out = append(out, it.Title)
			}
			return strings.Join(out, ",")
		}
		if got := titles(""); got != "Secret plans of public" {
			t.Errorf("anonymous site feed: %s", got)
		}
		if got := titles(w.outsiderTok); strings.Contains(got, "private") || !strings.Contains(got, "internal") {
			t.Errorf("outsider's site feed: %s", got)
		}
		if got := titles(w.memberTok); !strings.Contains(got, "private") {
			t.Errorf("member's site feed: %s", got)
		}
	})
}

func TestFeedHTTP(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Public)
	body := strings.Repeat("A paragraph that is long enough to be worth compressing. ", 40)
	p := e.post(owner, "apollo", "First", body)
	c := e.client()

	res := c.get("/p/apollo/feed.atom")
	if res.Status != http.StatusOK {
		t.Fatalf("status %d", res.Status)
	}
	cases := map[string]string{"/p/apollo/feed.atom": "application/atom+xml", "/p/apollo/feed.rss": "application/rss+xml", "/p/apollo/feed.json": "application/feed+json"}
	for path, ct := range cases {
		if got := c.get(path).Header.Get("Content-Type"); !strings.HasPrefix(got, ct) {
			t.Errorf("%s: Content-Type %q, want %s", path, got, ct)
		}
	}
	etag, lastMod := res.Header.Get("ETag"), res.Header.Get("Last-Modified")
	if etag == "" || lastMod == "" {
		t.Fatalf("ETag %q, Last-Modified %q", etag, lastMod)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "public") {
		t.Errorf("anonymous feed Cache-Control %q", cc)
	}
	t.Run("IfNoneMatch", func(t *testing.T) {
		r := c.getWith("/p/apollo/feed.atom", map[string]string{"If-None-Match": etag})
		if r.Status != http.StatusNotModified || r.Body != "" {
			t.Fatalf("status %d, body %q", r.Status, r.Body)
		}
	})
	t.Run("IfModifiedSince", func(t *testing.T) {
		r := c.getWith("/p/apollo/feed.atom", map[string]string{"If-Modified-Since": lastMod})
		if r.Status != http.StatusNotModified || r.Body != "" {
			t.Fatalf("status %d, body %q", r.Status, r.Body)
		}
		old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
		if r := c.getWith("/p/apollo/feed.atom", map[string]string{"If-Modified-Since": old}); r.Status != http.StatusOK {
			t.Fatalf("older If-Modified-Since: %d", r.Status)
		}
	})
	t.Run("Gzip", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/p/apollo/feed.atom", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		raw, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Body.Close()
		if raw.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", raw.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(raw.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		if !bytes.Contains(b, []byte("<feed")) {
			t.Fatal("gzip body is not the feed")
		}
	})
	t.Run("EditChangesETagKeepsID", func(t *testing.T) {
		before := parseFeed(t, c.get("/p/apollo/feed.atom").Body).Items[0]
		e.clock.Add(time.Hour)
		if _, err := e.posts.UpdatePost(owner.Actor(), p.ID, posts.PostInput{Title: "First, renamed", Body: body + "\nMore.", Slug: "first-renamed"}); err != nil {
			t.Fatal(err)
		}
		r := c.getWith("/p/apollo/feed.atom", map[string]string{"If-None-Match": etag})
		if r.Status != http.StatusOK {
			t.Fatalf("after an edit the old ETag still gives %d", r.Status)
		}
		after := parseFeed(t, r.Body).Items[0]
		if after.GUID != before.GUID {
			t.Fatalf("entry ID changed across an edit and a slug change: %q -> %q", before.GUID, after.GUID)
		}
		if after.Title != "First, renamed" || !strings.HasSuffix(after.Link, "/p/apollo/first-renamed") {
			t.Errorf("entry after edit: %q %q", after.Title, after.Link)
		}
		if !after.UpdatedParsed.After(*before.UpdatedParsed) {
			t.Errorf("updated did not move: %v -> %v", before.UpdatedParsed, after.UpdatedParsed)
		}
		f := parseFeed(t, r.Body)
		if !f.UpdatedParsed.Equal(*after.UpdatedParsed) {
			t.Errorf("feed updated %v is not its newest entry's %v", f.UpdatedParsed, after.UpdatedParsed)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			e.post(owner, "apollo", "Extra "+string(rune('A'+i)), "x")
		}
		if n := len(parseFeed(t, c.get("/p/apollo/feed.json?limit=3").Body).Items); n != 3 {
			t.Errorf("limit=3 gave %d items", n)
		}
		if r := c.get("/p/apollo/feed.json?limit=abc"); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("limit=abc: %d", r.Status)
		}
	})
}

func TestFeedAutodiscoveryAndSubscribe(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Private)
	e.project(owner, "zephyr", access.Public)
	e.post(owner, "apollo", "Hello", "x")
	tok, _ := e.users.FeedToken(owner.ID)
	c := e.client().login("owner@example.com")

	links := func(body string) []string {
		var out []string
		walk(t, body, func(n *htmlNode) bool {
			if n.Data == "link" && attr(n, "rel") == "alternate" {
				out = append(out, attr(n, "type")+" "+attr(n, "href"))
			}
			return true
		})
		return out
	}
	got := links(c.get("/p/apollo").Body)
	if len(got) != 3 {
		t.Fatalf("private project page advertises %v", got)
	}
	for _, l := range got {
		if !strings.Contains(l, "/p/apollo/feed.") || !strings.Contains(l, "token="+tok) {
			t.Errorf("private project feed link without the reader's token: %s", l)
		}
	}
	for _, l := range links(c.get("/p/zephyr").Body) {
		if strings.Contains(l, "token=") {
			t.Errorf("public project feed link carries a token: %s", l)
		}
	}
	page := c.get("/p/apollo").Body
	if v := formValue(t, page, ""); v != "" {
		_ = v
	}
	var inputs []string
	walk(t, page, func(n *htmlNode) bool {
		if n.Data == "input" && strings.HasPrefix(attr(n, "id"), "feed-") {
			inputs = append(inputs, attr(n, "value"))
		}
		return true
	})
	if len(inputs) != 3 {
		t.Fatalf("subscribe box has %d addresses", len(inputs))
	}
	// The address shown works in a reader with no cookies.
	u, _ := url.Parse(inputs[0])
	if res := e.client().get(u.RequestURI()); res.Status != http.StatusOK || !strings.Contains(res.Body, "Hello") {
		t.Fatalf("the shown address %s: %d", inputs[0], res.Status)
	}
	// Renewing the key from the settings page kills the old address.
	if res := c.post("/settings/feed-token", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("regenerate: %d", res.Status)
	}
	if res := e.client().get(u.RequestURI()); res.Status != http.StatusNotFound {
		t.Fatalf("old address after renewal: %d", res.Status)
	}
	if anon := links(e.client().get("/p/zephyr").Body); len(anon) != 3 {
		t.Errorf("anonymous public project page advertises %v", anon)
	}
}

func TestOPML(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	e.user("other@example.com", "Other", false)
	e.project(owner, "apollo", access.Private)
	e.project(owner, "zephyr", access.Public)
	if res := e.client().get("/feeds.opml"); res.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous OPML: %d", res.Status)
	}
	res := e.client().login("owner@example.com").get("/feeds.opml")
	if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("OPML: %d %v", res.Status, res.Header)
	}
	if !strings.Contains(res.Body, "/p/apollo/feed.atom?token=") || !strings.Contains(res.Body, "/p/zephyr/feed.atom\"") {
		t.Errorf("OPML outlines:\n%s", res.Body)
	}
	other := e.client().login("other@example.com").get("/feeds.opml")
	if strings.Contains(other.Body, "apollo") {
		t.Error("another user's OPML lists a private project they cannot read")
	}
}

func TestFeedAuthorEmailOnlyWithConsent(t *testing.T) {
	e := newEnv(t)
	owner := e.user("olive@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Public)
	e.post(owner, "apollo", "Hello", "x")
	c := e.client()
	if strings.Contains(c.get("/p/apollo/feed.atom").Body, "olive@example.com") {
		t.Fatal("e-mail shown without consent")
	}
	oc := e.client().login("olive@example.com")
	if res := oc.post("/settings/profile", url.Values{"name": {"Olive Owner"}, "timezone": {"UTC"}, "show_email": {"1"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("save profile: %d\n%s", res.Status, res.Body)
	}
	f := parseFeed(t, c.get("/p/apollo/feed.atom").Body)
	if a := f.Items[0].Authors; len(a) != 1 || a[0].Email != "olive@example.com" || a[0].Name != "Olive Owner" {
		t.Fatalf("authors %+v", a)
	}
}

func TestFeedHealthCategory(t *testing.T) {
	e := newEnv(t)
	owner := e.user("olive@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Public)
	if _, err := e.posts.CreatePost(owner.Actor(), "apollo", posts.PostInput{Title: "Week 48", Body: "Late.", Tags: []string{"status"}, Health: posts.AtRisk}); err != nil {
		t.Fatal(err)
	}
	f := parseFeed(t, e.client().get("/p/apollo/feed.atom").Body)
	if got := strings.Join(f.Items[0].Categories, ","); got != "status,health:at_risk" {
		t.Fatalf("categories %q", got)
	}
}
