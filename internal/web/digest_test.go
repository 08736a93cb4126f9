package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
)

func TestDigestPage(t *testing.T) {
	e := newEnv(t)
	owner := e.user("olive@example.com", "Olive Owner", false)
	mgr := e.user("max@example.com", "Max Manager", false)
	e.project(owner, "apollo", access.Internal)
	e.project(owner, "zephyr", access.Internal)
	if err := e.posts.SetMember(owner.Actor(), "apollo", mgr.ID, access.Viewer); err != nil {
		t.Fatal(err)
	}
	e.post(owner, "apollo", "Apollo news", "In the window.")
	e.post(owner, "zephyr", "Zephyr news", "Max is not a member of Zephyr.")
	c := e.client().login("max@example.com")
	res := c.get("/digest")
	if res.Status != http.StatusOK {
		t.Fatalf("digest: %d", res.Status)
	}
	if !strings.Contains(res.Body, "Apollo news") || strings.Contains(res.Body, "Zephyr news") {
		t.Fatal("the digest does not hold exactly the followed project's posts")
	}
	// Turning Apollo off removes it from the digest.
	if res := c.post("/settings/follow", url.Values{"mode_apollo": {"off"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("follow off: %d", res.Status)
	}
	if strings.Contains(c.get("/digest").Body, "Apollo news") {
		t.Fatal("an unfollowed project is still in the digest")
	}
	if res := c.post("/settings/notifications", url.Values{"weekly_day": {"5"}, "digest_hour": {"7"}, "quiet_start": {"22"}, "quiet_end": {"7"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("save notification settings: %d", res.Status)
	}
	if st, _ := e.notify.Settings(mgr.ID); st.WeeklyDay != time.Friday || st.DigestHour != 7 || st.QuietStart != 22 || st.QuietEnd != 7 {
		t.Fatalf("settings %+v", st)
	}
	if res := c.post("/settings/follow", url.Values{"mode_apollo": {"immediate"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("follow immediately: %d", res.Status)
	}
	if p, _ := e.posts.Project(mgr.Actor(), "apollo"); p != nil {
		if m, _ := e.notify.ProjectMode(mgr.ID, p.ID); m != "immediate" {
			t.Fatalf("mode %q", m)
		}
	}
	if res := c.get("/digest?week=2026-W99"); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad week label: %d", res.Status)
	}
}

func TestDigestFeedNeedsToken(t *testing.T) {
	e := newEnv(t)
	owner := e.user("olive@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Internal)
	e.post(owner, "apollo", "Apollo news", "x")
	if res := e.client().get("/digest.atom"); res.Status != http.StatusNotFound {
		t.Fatalf("digest feed without token: %d", res.Status)
	}
	tok, _ := e.users.FeedToken(owner.ID)
	e.clock.Add(8 * 24 * time.Hour) // the post's week is now a complete window
	res := e.client().get("/digest.atom?token=" + url.QueryEscape(tok))
	if res.Status != http.StatusOK {
		t.Fatalf("digest feed: %d", res.Status)
	}
	f := parseFeed(t, res.Body)
	if len(f.Items) != 1 || !strings.Contains(f.Items[0].Content, "Apollo news") {
		t.Fatalf("digest feed items: %+v", f.Items)
	}
}

func TestUnsubscribeWithoutLogin(t *testing.T) {
	e := newEnv(t)
	u := e.user("olive@example.com", "Olive Owner", false)
	link := e.notify.UnsubscribeURL(u.ID)
	path := strings.TrimPrefix(link, "http://projblog.test")
	c := e.client()
	res := c.get(path)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "Unsubscribe") {
		t.Fatalf("GET unsubscribe: %d", res.Status)
	}
	if st, _ := e.notify.Settings(u.ID); st.EmailOff {
		t.Fatal("a GET unsubscribed (mail scanners follow links)")
	}
	// RFC 8058 one-click: a POST from the mail client, no cookie, no CSRF token.
	res = c.postRaw(path, url.Values{"List-Unsubscribe": {"One-Click"}})
	if res.Status != http.StatusOK {
		t.Fatalf("one-click POST: %d\n%s", res.Status, res.Body)
	}
	if st, _ := e.notify.Settings(u.ID); !st.EmailOff {
		t.Fatal("not unsubscribed")
	}
	if res := c.get("/unsubscribe/forged-token"); res.Status != http.StatusNotFound {
		t.Fatalf("forged token: %d", res.Status)
	}
}

func TestAdminOutbox(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", "Ada Admin", true)
	e.user("mia@example.com", "Mia", false)
	if res := e.client().login("admin@example.com").get("/admin/outbox"); res.Status != http.StatusOK {
		t.Fatalf("admin outbox: %d", res.Status)
	}
	if res := e.client().login("mia@example.com").get("/admin/outbox"); res.Status != http.StatusNotFound {
		t.Fatalf("non-admin outbox: %d", res.Status)
	}
}
