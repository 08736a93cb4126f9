package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/posts"
)

func TestProjectMailSettings(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olivia Owner", false)
	member := e.user("member@example.com", "Max Member", false)
	viewer := e.user("viewer@example.com", "Vera Viewer", false)
	e.project(owner, "apollo", access.Internal)
	for u, r := range map[uint64]access.Role{member.ID: access.Member, viewer.ID: access.Viewer} {
		if err := e.posts.SetMember(owner.Actor(), "apollo", u, r); err != nil {
			t.Fatal(err)
		}
	}
	const addr = "apollo@mail.projblog.test"

	// Members are shown the address; viewers and anonymous readers not.
	if res := e.client().login("member@example.com").get("/p/apollo"); !strings.Contains(res.Body, "mailto:"+addr) {
		t.Fatalf("a member's project page does not show the project's address")
	}
	if res := e.client().login("viewer@example.com").get("/p/apollo"); strings.Contains(res.Body, addr) {
		t.Errorf("a viewer, who may not post, is shown the address")
	}

	oc := e.client().login("owner@example.com")
	res := oc.get("/p/apollo/settings")
	if !strings.Contains(res.Body, `name="mail_posts"`) || !strings.Contains(res.Body, addr) {
		t.Fatalf("the settings page has no mail setting")
	}
	form := url.Values{"name": {"Apollo"}, "visibility": {"internal"}, "mail_posts": {"draft"}}
	if res := oc.post("/p/apollo/settings", form); res.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", res.Status, res.Body)
	}
	pv, err := e.posts.Project(owner.Actor(), "apollo")
	if err != nil || pv.MailPosts != posts.MailDraft {
		t.Fatalf("mail mode %q, %v", pv.MailPosts, err)
	}
	if res := e.client().login("member@example.com").get("/p/apollo"); !strings.Contains(res.Body, "becomes your draft") {
		t.Errorf("the project page does not say mail becomes a draft")
	}
	form.Set("mail_posts", "off")
	oc.post("/p/apollo/settings", form)
	if res := e.client().login("member@example.com").get("/p/apollo"); strings.Contains(res.Body, addr) {
		t.Errorf("the address is shown while the project takes no mail")
	}
	// A bad value: a 4xx naming the field, nothing changed.
	form.Set("mail_posts", "sometimes")
	if res := oc.post("/p/apollo/settings", form); res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "publish, draft or off") {
		t.Fatalf("a bad mail mode: %d", res.Status)
	}
	if pv, _ := e.posts.Project(owner.Actor(), "apollo"); pv.MailPosts != posts.MailOff {
		t.Errorf("a refused form changed the mode to %q", pv.MailPosts)
	}
}
