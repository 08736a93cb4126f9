package web_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
)

func TestPageCache(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Public)
	e.post(owner, "apollo", "First light", "Hello.")

	a, b := e.client(), e.client()
	first := a.get("/p/apollo")
	if first.Status != http.StatusOK || isHit(first.Header) {
		t.Fatalf("first view: %d, X-Cache %q", first.Status, first.Header.Get("X-Cache"))
	}
	second := b.get("/p/apollo")
	if !isHit(second.Header) {
		t.Fatalf("second anonymous view was not served from the cache")
	}
	if !strings.Contains(second.Body, "First light") || second.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
		t.Errorf("cached answer differs: %q", second.Header.Get("Content-Type"))
	}

	// Each visitor gets their own CSRF token in the cached login form, and
	// it works.
	ta, tb := a.csrf(), b.csrf()
	if ta == "" || ta == tb || strings.Contains(a.get("/login").Body, "projblog-csrf") {
		t.Fatalf("CSRF tokens of two visitors: %q and %q", ta, tb)
	}
	if !isHit(b.get("/login").Header) {
		t.Errorf("the login page was not cached")
	}
	res := b.postRaw("/login", url.Values{"_csrf": {tb}, "email": {"owner@example.com"}, "password": {testPassword}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("login with the token of a cached form: %d\n%s", res.Status, res.Body)
	}

	// A signed-in reader has entries of their own: never the anonymous
	// page, never another reader's.
	in := b.get("/p/apollo") // shows the login's flash message: not kept
	b.get("/p/apollo")
	if isHit(in.Header) || !strings.Contains(in.Body, "Olive Owner") {
		t.Errorf("signed-in view: X-Cache %q", in.Header.Get("X-Cache"))
	}
	if again := b.get("/p/apollo"); !isHit(again.Header) || !strings.Contains(again.Body, "Olive Owner") {
		t.Errorf("repeated signed-in view: X-Cache %q", again.Header.Get("X-Cache"))
	}
	if anon := e.client().get("/p/apollo"); strings.Contains(anon.Body, `action="/logout"`) {
		t.Errorf("an anonymous view shows a signed-in page")
	}
	e.user("mia@example.com", "Mia Member", false)
	mc := e.client().login("mia@example.com")
	mc.get("/p/apollo")
	if mia := mc.get("/p/apollo"); isHit(mia.Header) || !strings.Contains(mia.Body, "Mia Member") {
		t.Errorf("another reader got Olive's page")
	}
	// Settings and forms are never cached for anyone.
	b.get("/settings")
	if r := b.get("/settings"); isHit(r.Header) {
		t.Errorf("the settings page was served from the cache")
	}

	// A write moves the event log's head: the next view is fresh.
	e.post(owner, "apollo", "Second light", "Again.")
	fresh := e.client().get("/p/apollo")
	if isHit(fresh.Header) || !strings.Contains(fresh.Body, "Second light") {
		t.Errorf("after a write: X-Cache %q, new post shown %v", fresh.Header.Get("X-Cache"), strings.Contains(fresh.Body, "Second light"))
	}
	if !isHit(e.client().get("/p/apollo").Header) {
		t.Errorf("not cached again after the write")
	}
	// And time alone ages an entry ("3 minutes ago" must not stay).
	e.clock.Add(2 * time.Minute)
	if isHit(e.client().get("/p/apollo").Header) {
		t.Errorf("an entry older than its lifetime was served")
	}

	// The search page follows the index, not only the log: never kept.
	e.client().get("/search?q=light")
	if r := e.client().get("/search?q=light"); isHit(r.Header) {
		t.Errorf("a search page was served from the cache")
	}

	// Languages are kept apart.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/p/apollo", nil)
	req.Header.Set("Accept-Language", "fr-CA")
	fr := e.client().do(req)
	if isHit(fr.Header) || !strings.Contains(fr.Body, `lang="fr"`) {
		t.Errorf("a French reader got the English cached page")
	}

	// A private project's page is never cached for anyone: outsiders get
	// 404, which is not stored, and members are signed in.
	e.project(owner, "secret", access.Private)
	for range 2 {
		if r := e.client().get("/p/secret"); r.Status != http.StatusNotFound || isHit(r.Header) {
			t.Errorf("private project for an outsider: %d, X-Cache %q", r.Status, r.Header.Get("X-Cache"))
		}
	}
}

// TestPageCacheFastPath: a cache hit for a reader without a session is
// answered before echo's chain, with the same bytes and headers, its own
// CSRF token, and gzip for gzip clients; everyone else goes the usual way.
func TestPageCacheFastPath(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Public)
	e.post(owner, "apollo", "First light", strings.Repeat("Hello, world. ", 200))

	raw := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	// Through echo once (fills the cache), then a hit: same body, headers.
	first, body1 := raw("/p/apollo/first-light", nil)
	hit, body2 := raw("/p/apollo/first-light", nil)
	if !isHit(hit.Header) || body1 != body2 {
		t.Fatalf("second view: X-Cache %q, same body %v", hit.Header.Get("X-Cache"), body1 == body2)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Content-Type", "Referrer-Policy"} {
		if hit.Header.Get(h) == "" || hit.Header.Get(h) != first.Header.Get(h) {
			t.Errorf("%s: %q on the hit, %q through echo", h, hit.Header.Get(h), first.Header.Get(h))
		}
	}
	if hit.ContentLength != int64(len(body2)) {
		t.Errorf("Content-Length %d for %d bytes", hit.ContentLength, len(body2))
	}

	// gzip clients get the same page compressed.
	gz, zbody := raw("/p/apollo/first-light", map[string]string{"Accept-Encoding": "gzip"})
	if gz.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(strings.NewReader(zbody))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if string(plain) != body2 {
			t.Errorf("gzipped hit differs from the page")
		}
	} else if !isHit(gz.Header) {
		t.Errorf("gzip client: X-Cache %q, Content-Encoding %q", gz.Header.Get("X-Cache"), gz.Header.Get("Content-Encoding"))
	}

	// A page with a form (the login page): a visitor with a CSRF cookie
	// gets their own token; one without goes through echo and gets one.
	raw("/login", nil)
	res, page := raw("/login", map[string]string{"Cookie": "projblog_csrf=abcdefghijklmnopqrstuvwxyzABCDEF"})
	if !isHit(res.Header) || formValue(t, page, "_csrf") != "abcdefghijklmnopqrstuvwxyzABCDEF" {
		t.Errorf("login page for a returning visitor: X-Cache %q, token %q", res.Header.Get("X-Cache"), formValue(t, page, "_csrf"))
	}
	res, page = raw("/login", nil)
	tok := formValue(t, page, "_csrf")
	if tok == "" || strings.Contains(page, "projblog-csrf") || !strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "projblog_csrf="+tok) {
		t.Errorf("login page for a first visit: token %q, cookies %v", tok, res.Header.Values("Set-Cookie"))
	}

	// A returning visitor (CSRF cookie) is answered before echo's chain.
	res, _ = raw("/p/apollo/first-light", map[string]string{"Cookie": "projblog_csrf=abcdefghijklmnopqrstuvwxyzABCDEF"})
	if res.Header.Get("X-Cache") != "hit, early" {
		t.Errorf("returning visitor's post page: X-Cache %q", res.Header.Get("X-Cache"))
	}
	// A feed has no form: gzip clients get it compressed, early.
	_, plainFeed := raw("/p/apollo/feed.atom", nil)
	res, zfeed := raw("/p/apollo/feed.atom", map[string]string{"Accept-Encoding": "gzip"})
	if res.Header.Get("X-Cache") != "hit, early" || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip feed: X-Cache %q, Content-Encoding %q", res.Header.Get("X-Cache"), res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(zfeed))
	if err != nil {
		t.Fatal(err)
	}
	if unz, _ := io.ReadAll(zr); string(unz) != plainFeed || res.Header.Get("Content-Type") == "" {
		t.Errorf("the gzipped feed differs from the feed")
	}

	// A feed reader's conditional request: 304 early for the current ETag,
	// the feed for an old one.
	cur, _ := raw("/p/apollo/feed.atom", nil)
	etag := cur.Header.Get("ETag")
	res, b := raw("/p/apollo/feed.atom", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || b != "" || res.Header.Get("X-Cache") != "hit, early" || res.Header.Get("ETag") != etag {
		t.Errorf("conditional feed request: %d, X-Cache %q, ETag %q (want %q)", res.StatusCode, res.Header.Get("X-Cache"), res.Header.Get("ETag"), etag)
	}
	if res, _ = raw("/p/apollo/feed.atom", map[string]string{"If-None-Match": `"stale"`}); res.StatusCode != http.StatusOK {
		t.Errorf("a stale ETag got %d", res.StatusCode)
	}
	e.post(owner, "apollo", "Second light", "More.")
	if res, _ = raw("/p/apollo/feed.atom", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusOK {
		t.Errorf("after a write, the old ETag got %d", res.StatusCode)
	}

	// A session cookie, even a stale one, never takes the fast path.
	res, _ = raw("/p/apollo/first-light", map[string]string{"Cookie": "projblog_session=nonsense"})
	if strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "projblog_session=;") == false {
		t.Errorf("a stale session cookie was not cleared (the request skipped the session middleware)")
	}
}

// isHit tells whether an answer came from the page cache, through echo or
// before it (X-Cache "hit, early").
func isHit(h http.Header) bool { return strings.HasPrefix(h.Get("X-Cache"), "hit") }
