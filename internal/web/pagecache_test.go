package web_test

import (
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
	if first.Status != http.StatusOK || first.Header.Get("X-Cache") == "hit" {
		t.Fatalf("first view: %d, X-Cache %q", first.Status, first.Header.Get("X-Cache"))
	}
	second := b.get("/p/apollo")
	if second.Header.Get("X-Cache") != "hit" {
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
	if b.get("/login").Header.Get("X-Cache") != "hit" {
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
	if in.Header.Get("X-Cache") == "hit" || !strings.Contains(in.Body, "Olive Owner") {
		t.Errorf("signed-in view: X-Cache %q", in.Header.Get("X-Cache"))
	}
	if again := b.get("/p/apollo"); again.Header.Get("X-Cache") != "hit" || !strings.Contains(again.Body, "Olive Owner") {
		t.Errorf("repeated signed-in view: X-Cache %q", again.Header.Get("X-Cache"))
	}
	if anon := e.client().get("/p/apollo"); strings.Contains(anon.Body, `action="/logout"`) {
		t.Errorf("an anonymous view shows a signed-in page")
	}
	e.user("mia@example.com", "Mia Member", false)
	mc := e.client().login("mia@example.com")
	mc.get("/p/apollo")
	if mia := mc.get("/p/apollo"); mia.Header.Get("X-Cache") == "hit" || !strings.Contains(mia.Body, "Mia Member") {
		t.Errorf("another reader got Olive's page")
	}
	// Settings and forms are never cached for anyone.
	b.get("/settings")
	if r := b.get("/settings"); r.Header.Get("X-Cache") == "hit" {
		t.Errorf("the settings page was served from the cache")
	}

	// A write moves the event log's head: the next view is fresh.
	e.post(owner, "apollo", "Second light", "Again.")
	fresh := e.client().get("/p/apollo")
	if fresh.Header.Get("X-Cache") == "hit" || !strings.Contains(fresh.Body, "Second light") {
		t.Errorf("after a write: X-Cache %q, new post shown %v", fresh.Header.Get("X-Cache"), strings.Contains(fresh.Body, "Second light"))
	}
	if e.client().get("/p/apollo").Header.Get("X-Cache") != "hit" {
		t.Errorf("not cached again after the write")
	}
	// And time alone ages an entry ("3 minutes ago" must not stay).
	e.clock.Add(2 * time.Minute)
	if e.client().get("/p/apollo").Header.Get("X-Cache") == "hit" {
		t.Errorf("an entry older than its lifetime was served")
	}

	// The search page follows the index, not only the log: never kept.
	e.client().get("/search?q=light")
	if r := e.client().get("/search?q=light"); r.Header.Get("X-Cache") == "hit" {
		t.Errorf("a search page was served from the cache")
	}

	// Languages are kept apart.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/p/apollo", nil)
	req.Header.Set("Accept-Language", "fr-CA")
	fr := e.client().do(req)
	if fr.Header.Get("X-Cache") == "hit" || !strings.Contains(fr.Body, `lang="fr"`) {
		t.Errorf("a French reader got the English cached page")
	}

	// A private project's page is never cached for anyone: outsiders get
	// 404, which is not stored, and members are signed in.
	e.project(owner, "secret", access.Private)
	for range 2 {
		if r := e.client().get("/p/secret"); r.Status != http.StatusNotFound || r.Header.Get("X-Cache") == "hit" {
			t.Errorf("private project for an outsider: %d, X-Cache %q", r.Status, r.Header.Get("X-Cache"))
		}
	}
}
