package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
)

// selected returns the value of the selected option of the select named
// name ("" when there is none).
func selected(t *testing.T, body, name string) string {
	t.Helper()
	var out string
	walk(t, body, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "select" && attr(n, "name") == name {
			var first string
			for o := n.FirstChild; o != nil; o = o.NextSibling {
				if o.Data != "option" {
					continue
				}
				if first == "" {
					first = attr(o, "value")
				}
				for _, a := range o.Attr {
					if a.Key == "selected" {
						out = attr(o, "value")
					}
				}
			}
			if out == "" {
				out = first
			}
			return false
		}
		return true
	})
	return out
}

// followBoxText is the text of the page's follow box, "" without one.
func followBoxText(t *testing.T, body string) string {
	t.Helper()
	return strings.Join(strings.Fields(strings.Join(texts(t, body, "section", "follow-box"), " ")), " ")
}

// TestFollowControls: the Follow control of a post and of a tag page, and
// the settings page that lists every subscription with its mode.
func TestFollowControls(t *testing.T) {
	e := newEnv(t)
	owner := e.user("olive@example.com", "Olive Owner", false)
	mia := e.user("mia@example.com", "Mia Member", false)
	e.project(owner, "apollo", access.Internal)
	if err := e.posts.SetMember(owner.Actor(), "apollo", mia.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	p, err := e.posts.CreatePost(owner.Actor(), "apollo", posts.PostInput{Title: "Launch plan", Body: "Soon.", Tags: []string{"launch"}})
	if err != nil {
		t.Fatal(err)
	}
	field := fmt.Sprintf("post_%d", p.ID)
	path := "/p/apollo/" + p.Slug

	// The author follows their post; the box says why.
	oc := e.client().login(owner.Email)
	if got := followBoxText(t, oc.get(path).Body); !strings.Contains(got, "You follow this discussion") || !strings.Contains(got, "(you wrote it)") {
		t.Errorf("the author's follow box: %q", got)
	}
	// Mia does not follow it; she follows it daily.
	mc := e.client().login(mia.Email)
	page := mc.get(path)
	if got := followBoxText(t, page.Body); !strings.Contains(got, "Follow this discussion") || strings.Contains(got, "Unfollow") {
		t.Errorf("Mia's follow box: %q", got)
	}
	if got := selected(t, page.Body, field); got != "immediate" {
		t.Errorf("the mode offered: %q", got)
	}
	res := mc.post("/settings/follow", url.Values{field: {"daily"}, "next": {path + "#follow-post"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != path+"#follow-post" {
		t.Fatalf("follow: %d %q", res.Status, res.Header.Get("Location"))
	}
	if m, why, _ := e.notify.PostMode(mia.ID, p); m != notify.Daily || why != "" {
		t.Fatalf("Mia follows %q (%q)", m, why)
	}
	page = mc.get(path)
	if got := followBoxText(t, page.Body); !strings.Contains(got, "Following") || !strings.Contains(got, "Unfollow") {
		t.Errorf("after following: %q", got)
	}
	if got := selected(t, page.Body, field); got != "daily" {
		t.Errorf("the select shows %q", got)
	}
	// A bad mode changes nothing; an off-site next is not followed.
	if res := mc.post("/settings/follow", url.Values{field: {"hourly"}}); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("a bad mode: %d", res.Status)
	}
	if res := mc.post("/settings/follow", url.Values{field: {"weekly"}, "next": {"//evil.example/"}}); res.Header.Get("Location") != "/" {
		t.Errorf("an off-site next: %q", res.Header.Get("Location"))
	}
	if m, _, _ := e.notify.PostMode(mia.ID, p); m != notify.Weekly {
		t.Fatalf("mode %q", m)
	}

	// Tags: on the site-wide and the project's tag page.
	tagPage := mc.get("/tags/launch")
	if got := followBoxText(t, tagPage.Body); !strings.Contains(got, "Follow #launch") {
		t.Errorf("tag follow box: %q", got)
	}
	if res := mc.post("/settings/follow", url.Values{"tag_launch": {"immediate"}, "next": {"/p/apollo/tags/launch#follow-tag"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("follow the tag: %d", res.Status)
	}
	if m, _ := e.notify.TagMode(mia.ID, "launch"); m != notify.Immediate {
		t.Fatalf("tag mode %q", m)
	}
	if got := followBoxText(t, mc.get("/p/apollo/tags/launch").Body); !strings.Contains(got, "You follow #launch in every project you may read") {
		t.Errorf("project tag page: %q", got)
	}
	if res := mc.post("/settings/follow", url.Values{"tag_bad!tag": {"weekly"}}); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("a bad tag: %d", res.Status)
	}
	// Nobody without an account gets the control.
	if strings.Contains(e.client().get("/tags/launch").Body, "follow-box") {
		t.Error("an anonymous reader gets a follow box")
	}

	// The settings page lists projects, tags and posts with their modes,
	// and saves them.
	settings := mc.get("/settings")
	if settings.Status != http.StatusOK {
		t.Fatalf("settings: %d", settings.Status)
	}
	for name, want := range map[string]string{"mode_apollo": "weekly", "tag_launch": "immediate", field: "weekly"} {
		if got := selected(t, settings.Body, name); got != want {
			t.Errorf("settings: %s shows %q, want %q", name, got, want)
		}
	}
	if !slices.Contains(texts(t, settings.Body, "h3", ""), "Tags you follow") || !strings.Contains(settings.Body, ">Launch plan</a>") {
		t.Error("the settings page does not list the tags and posts followed")
	}
	if res := mc.post("/settings/follow", url.Values{"mode_apollo": {"daily"}, "tag_launch": {"off"}, field: {"off"}, "next": {"/settings#follow-posts-h"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("save all: %d", res.Status)
	}
	pv, _ := e.posts.Project(mia.Actor(), "apollo")
	if m, _ := e.notify.ProjectMode(mia.ID, pv.ID); m != notify.Daily {
		t.Errorf("project mode %q", m)
	}
	if tags, _ := e.notify.FollowedTags(mia.ID); len(tags) != 0 {
		t.Errorf("tags %+v", tags)
	}
	if m, _, _ := e.notify.PostMode(mia.ID, p); m != notify.Off {
		t.Errorf("post mode %q", m)
	}
	if got := selected(t, mc.get("/settings").Body, field); got != "off" {
		t.Errorf("the post chosen off is listed as %q", got)
	}
}

// TestDigestDailyPageAndFeed: /digest switches between weeks and days,
// and the digest feed has an entry per window, daily ones included for a
// reader who follows something daily.
func TestDigestDailyPageAndFeed(t *testing.T) {
	e := newEnv(t) // the clock: Monday 2 November 2026, 14:30 UTC
	owner := e.user("olive@example.com", "Olive Owner", false)
	max := e.user("max@example.com", "Max Manager", false)
	e.project(owner, "apollo", access.Internal)
	e.project(owner, "zephyr", access.Internal)
	for _, slug := range []string{"apollo", "zephyr"} {
		if err := e.posts.SetMember(owner.Actor(), slug, max.ID, access.Viewer); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.notify.SetProjectMode(max.Actor(), "apollo", notify.Daily); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(-30 * time.Hour) // Sunday 1 November, 08:30
	e.post(owner, "apollo", "Sunday news", "Daily.")
	e.post(owner, "zephyr", "Zephyr news", "Weekly.")
	e.clock.Add(30 * time.Hour)
	e.post(owner, "apollo", "Monday news", "Today.")
	c := e.client().login(max.Email)

	week := c.get("/digest")
	if strings.Contains(week.Body, "Sunday news") || !strings.Contains(week.Body, "Zephyr news") && !strings.Contains(c.get("/digest?week=2026-W44").Body, "Zephyr news") {
		t.Errorf("the week view mixes in what Max reads daily")
	}
	today := c.get("/digest?period=day")
	if today.Status != http.StatusOK || !slices.Contains(texts(t, today.Body, "h1", ""), "Today so far") || !strings.Contains(today.Body, "Monday news") {
		t.Fatalf("today: %d %q", today.Status, texts(t, today.Body, "h1", ""))
	}
	pageStructure(t, "/digest?period=day", today.Body)
	var prev string
	walk(t, today.Body, func(n *html.Node) bool {
		if n.Data == "a" && attr(n, "rel") == "prev" {
			prev = attr(n, "href")
		}
		return true
	})
	if prev != "/digest?day=2026-11-01" {
		t.Errorf("previous day link %q", prev)
	}
	sunday := c.get(prev)
	if !slices.Contains(texts(t, sunday.Body, "h1", ""), "Day of 1 November 2026") || !strings.Contains(sunday.Body, "Sunday news") || strings.Contains(sunday.Body, "Zephyr news") {
		t.Errorf("Sunday's digest: %q", texts(t, sunday.Body, "h1", ""))
	}
	if res := c.get("/digest?day=2026-13-01"); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("a bad day: %d", res.Status)
	}

	tok, err := e.users.FeedToken(max.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := e.client().get("/digest.atom?token=" + tok)
	if res.Status != http.StatusOK {
		t.Fatalf("digest feed: %d", res.Status)
	}
	feed := parseFeed(t, res.Body)
	var days, weeks int
	for _, it := range feed.Items {
		switch {
		case strings.Contains(it.Link, "/digest?day="):
			days++
			if it.Link != "http://projblog.test/digest?day=2026-11-01" || !strings.HasPrefix(it.Title, "Your daily digest") {
				t.Errorf("daily entry %q %q", it.Link, it.Title)
			}
		case strings.Contains(it.Link, "/digest?week="):
			weeks++
		}
	}
	if days != 1 || weeks != 1 {
		t.Errorf("%d daily and %d weekly entries, want 1 and 1", days, weeks)
	}
}

// TestAdminOutboxWebhookFailures: a webhook delivery that gave up is
// listed on /admin/outbox next to the e-mail, with its project, host,
// event, time, attempts and last error.
func TestAdminOutboxWebhookFailures(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@example.com", "Ada Admin", true)
	owner := e.user("olive@example.com", "Olive Owner", false)
	e.project(owner, "apollo", access.Internal)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver on fire", http.StatusBadGateway)
	}))
	defer down.Close()
	hook, err := e.notify.AddWebhook(owner.Actor(), "apollo", down.URL+"/hook", notify.WebhookSlack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.notify.TestWebhook(owner.Actor(), "apollo", hook.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < notify.MaxAttempts; i++ {
		if _, failed, err := e.notify.DeliverWebhooks(context.Background()); failed != 1 || err != nil {
			t.Fatalf("attempt %d: %d failed, %v", i+1, failed, err)
		}
		e.clock.Add(time.Hour)
	}
	fs, err := e.notify.WebhookFailures()
	if err != nil || len(fs) != 1 || fs[0].Attempts != notify.MaxAttempts || !strings.Contains(fs[0].LastError, "502") {
		t.Fatalf("WebhookFailures = %+v, %v", fs, err)
	}
	res := e.client().login(admin.Email).get("/admin/outbox")
	if res.Status != http.StatusOK {
		t.Fatalf("admin outbox: %d", res.Status)
	}
	pageStructure(t, "/admin/outbox", res.Body)
	var rows [][]string
	walk(t, res.Body, func(n *html.Node) bool {
		if n.Data == "table" && hasClass(n, "webhook-failures") {
			walkNode(n, func(tr *html.Node) {
				if tr.Data != "tr" || tr.Parent == nil || tr.Parent.Data != "tbody" {
					return
				}
				var cells []string
				for td := tr.FirstChild; td != nil; td = td.NextSibling {
					if td.Data == "td" {
						cells = append(cells, strings.Join(strings.Fields(textOf(td)), " "))
					}
				}
				rows = append(rows, cells)
			})
			return false
		}
		return true
	})
	if len(rows) != 1 {
		t.Fatalf("failure rows %q", rows)
	}
	r := rows[0]
	if r[0] != "Apollo" || !strings.HasPrefix(r[1], hook.Host()) || r[2] != "ping" || r[4] != fmt.Sprint(notify.MaxAttempts) || !strings.Contains(r[5], "Failed") || !strings.Contains(r[5], "502") {
		t.Errorf("row %q", r)
	}
	if !strings.Contains(res.Body, "Nothing is waiting") {
		t.Error("the e-mail part is missing")
	}
}

// walkNode visits n and its descendants.
func walkNode(n *html.Node, visit func(*html.Node)) {
	visit(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkNode(c, visit)
	}
}
