package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/posts"
)

// discussionWorld: an internal project with an owner (author of a post), a
// member, a viewer, and an outsider (logged in, not a member).
type discussionWorld struct {
	e                              *env
	owner, member, viewer, outside *client
	post                           *posts.Post
	ownerID, memberID, viewerID    uint64
}

func newDiscussionWorld(t *testing.T, vis access.Visibility) *discussionWorld {
	e := newEnv(t)
	o := e.user("olive@example.com", "Olive Owner", false)
	m := e.user("mia@example.com", "Mia Member", false)
	v := e.user("vic@example.com", "Vic Viewer", false)
	e.user("out@example.com", "Otto Outsider", false)
	e.project(o, "apollo", vis)
	if err := e.posts.SetMember(o.Actor(), "apollo", m.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetMember(o.Actor(), "apollo", v.ID, access.Viewer); err != nil {
		t.Fatal(err)
	}
	p := e.post(o, "apollo", "Launch plan", "We launch on **Friday**.")
	return &discussionWorld{e: e, post: p, ownerID: o.ID, memberID: m.ID, viewerID: v.ID,
		owner: e.client().login("olive@example.com"), member: e.client().login("mia@example.com"),
		viewer: e.client().login("vic@example.com"), outside: e.client().login("out@example.com")}
}

const postPath = "/p/apollo/launch-plan"

func TestCommentsReplyEditDelete(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	res := w.viewer.post(postPath+"/comments", url.Values{"body": {"Is Friday **final**?"}})
	if res.Status != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "#comment-") {
		t.Fatalf("viewer comments: %d %s\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	comments, err := w.e.posts.Comments(accessOf(w.ownerID), w.post.ID)
	if err != nil || len(comments) != 1 {
		t.Fatalf("comments %v, %v", comments, err)
	}
	first := comments[0]
	res = w.owner.post(postPath+"/comments", url.Values{"body": {"Yes, final. @mia please confirm."}, "parent_id": {fmt.Sprint(first.ID)}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("reply: %d", res.Status)
	}
	page := w.member.get(postPath)
	bodies := texts(t, page.Body, "div", "comment-body")
	if len(bodies) != 2 || !strings.Contains(bodies[1], "@mia") {
		t.Fatalf("comment bodies %q", bodies)
	}
	var mentionLink string
	walk(t, page.Body, func(n *htmlNode) bool {
		if n.Data == "a" && hasClass(n, "mention") {
			mentionLink = attr(n, "href")
		}
		return true
	})
	if mentionLink != "/people/mia" {
		t.Errorf("mention link %q", mentionLink)
	}
	if !strings.Contains(page.Body, "2 comments") {
		t.Error("no comment count heading")
	}
	if proj := w.member.get("/p/apollo"); !strings.Contains(proj.Body, "2 comments") {
		t.Error("the project list does not show the comment count")
	}
	// Edit own, not others'.
	if res := w.viewer.post(fmt.Sprintf("%s/comments/%d/edit", postPath, first.ID), url.Values{"body": {"Is Friday final, really?"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("edit own comment: %d", res.Status)
	}
	if res := w.member.post(fmt.Sprintf("%s/comments/%d/edit", postPath, first.ID), url.Values{"body": {"hijacked"}}); res.Status != http.StatusForbidden {
		t.Fatalf("edit someone else's comment: %d", res.Status)
	}
	// An empty comment comes back with a message, nothing stored.
	res = w.member.post(postPath+"/comments", url.Values{"body": {"   "}})
	if res.Status != http.StatusUnprocessableEntity || len(texts(t, res.Body, "div", "error-box")) == 0 {
		t.Fatalf("empty comment: %d", res.Status)
	}
	// Owners moderate: deleting a comment with a reply leaves a placeholder.
	if res := w.owner.post(fmt.Sprintf("%s/comments/%d/delete", postPath, first.ID), nil); res.Status != http.StatusSeeOther {
		t.Fatalf("owner deletes: %d", res.Status)
	}
	page = w.member.get(postPath)
	if !strings.Contains(page.Body, "This comment was deleted.") || strings.Contains(page.Body, "really?") {
		t.Error("deleted comment not replaced by a placeholder")
	}
	// Outsiders of a private project see nothing: see TestDiscussionPrivate.
}

func accessOf(id uint64) access.Actor { return access.Actor{UserID: id} }

func TestDiscussionPrivate(t *testing.T) {
	w := newDiscussionWorld(t, access.Private)
	w.member.post(postPath+"/comments", url.Values{"body": {"secret comment"}})
	for _, path := range []string{postPath, postPath + "/comments.atom", "/p/apollo/decisions", "/p/apollo/people.json"} {
		if res := w.outside.get(path); res.Status != http.StatusNotFound || strings.Contains(res.Body, "secret comment") {
			t.Errorf("outsider GET %s: %d", path, res.Status)
		}
	}
	for _, path := range []string{postPath + "/comments", postPath + "/react", postPath + "/ack", postPath + "/decision"} {
		if res := w.outside.post(path, url.Values{"body": {"x"}, "name": {"heart"}, "on": {"1"}}); res.Status != http.StatusNotFound {
			t.Errorf("outsider POST %s: %d", path, res.Status)
		}
	}
}

func TestReactions(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	for _, c := range []*client{w.viewer, w.member, w.outside} {
		if res := c.post(postPath+"/react", url.Values{"name": {"tada"}, "on": {"1"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("react: %d", res.Status)
		}
	}
	page := w.owner.get(postPath)
	var label, count string
	walk(t, page.Body, func(n *htmlNode) bool {
		if n.Data == "button" && hasClass(n, "reaction") && strings.Contains(textOf(n), "🎉") {
			label = attr(n, "title")
			count = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(textOf(n)), "🎉"))
			return false
		}
		return true
	})
	if count != "3" || !strings.Contains(label, "Vic Viewer") || !strings.Contains(label, "Otto Outsider") {
		t.Fatalf("tada reaction: count %q, who %q", count, label)
	}
	w.viewer.post(postPath+"/react", url.Values{"name": {"tada"}, "on": {"0"}})
	r, _ := w.e.posts.Reactions(accessOf(w.ownerID), w.post.ID)
	if len(r[0]["tada"]) != 2 {
		t.Fatalf("after un-reacting: %v", r[0])
	}
	if res := w.member.post(postPath+"/react", url.Values{"name": {"poop"}, "on": {"1"}}); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("unknown reaction: %d", res.Status)
	}
}

func TestAcknowledgements(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	// Only the author (or an owner) may ask.
	if res := w.member.post(postPath+"/acks", url.Values{"ack_all": {"1"}}); res.Status != http.StatusForbidden {
		t.Fatalf("a member asks on someone else's post: %d", res.Status)
	}
	res := w.owner.post(postPath+"/acks", url.Values{"ack_user": {fmt.Sprint(w.memberID), fmt.Sprint(w.viewerID)}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("request acks: %d\n%s", res.Status, res.Body)
	}
	home := w.viewer.get("/")
	if !strings.Contains(home.Body, "Waiting for your acknowledgement") || !strings.Contains(home.Body, "Launch plan") {
		t.Fatal("the viewer's home page does not show the waiting request")
	}
	if res := w.viewer.post(postPath+"/ack", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("viewer acknowledges: %d", res.Status)
	}
	if res := w.outside.post(postPath+"/ack", nil); res.Status != http.StatusConflict {
		t.Fatalf("someone not asked acknowledges: %d", res.Status)
	}
	page := w.owner.get(postPath)
	if !strings.Contains(page.Body, "1 of 2") {
		t.Error("the author does not see 1 of 2 acknowledged")
	}
	pending := texts(t, page.Body, "li", "pending")
	if len(pending) != 1 || !strings.Contains(pending[0], "Mia Member") {
		t.Errorf("pending %q", pending)
	}
	if home := w.viewer.get("/"); strings.Contains(home.Body, "Waiting for your acknowledgement") {
		t.Error("the request is still waiting after acknowledging")
	}
}

func TestDecisionsLog(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	w.member.post(postPath+"/comments", url.Values{"body": {"Let us ship on Friday."}})
	comments, _ := w.e.posts.Comments(accessOf(w.ownerID), w.post.ID)
	if res := w.owner.post(postPath+"/decision", url.Values{"comment_id": {fmt.Sprint(comments[0].ID)}, "on": {"1"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("owner marks a comment: %d", res.Status)
	}
	if res := w.viewer.post(postPath+"/decision", url.Values{"on": {"1"}}); res.Status != http.StatusForbidden {
		t.Fatalf("viewer marks the post: %d", res.Status)
	}
	log := w.viewer.get("/p/apollo/decisions")
	if log.Status != http.StatusOK || !strings.Contains(log.Body, "Let us ship on Friday.") || !strings.Contains(log.Body, fmt.Sprintf("#comment-%d", comments[0].ID)) {
		t.Fatalf("decision log: %d", log.Status)
	}
}

func TestHealthAndOverdue(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	res := w.owner.post("/p/apollo/new", url.Values{"title": {"Week 45 status"}, "body": {"All good, mostly."}, "health": {"at_risk"}, "action": {"publish"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("status update: %d\n%s", res.Status, res.Body)
	}
	home := w.member.get("/")
	if got := texts(t, home.Body, "span", "health-at_risk"); len(got) == 0 {
		t.Fatal("the home page does not show the project's health")
	}
	// A weekly cadence, Fridays 09:00 Toronto: overdue once a Friday passes without an update.
	res = w.owner.post("/p/apollo/cadence", url.Values{"every": {"week"}, "weekday": {"5"}, "hour": {"9"}, "timezone": {"America/Toronto"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("set cadence: %d\n%s", res.Status, res.Body)
	}
	if got := texts(t, w.member.get("/").Body, "span", "overdue"); len(got) != 0 {
		t.Fatal("overdue right after a status update")
	}
	w.e.clock.Add(8 * 24 * time.Hour)
	if got := texts(t, w.member.get("/").Body, "span", "overdue"); len(got) == 0 {
		t.Fatal("not overdue after eight days")
	}
	if got := texts(t, w.member.get("/p/apollo").Body, "span", "overdue"); len(got) == 0 {
		t.Fatal("the project page does not say overdue")
	}
}

func TestMentionWarningBeforePublishing(t *testing.T) {
	w := newDiscussionWorld(t, access.Private)
	res := w.owner.post("/p/apollo/new", url.Values{"title": {"Ask Otto"}, "body": {"@out what do you think?"}, "action": {"publish"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "@out") || formValue(t, res.Body, "title") != "Ask Otto" {
		t.Fatalf("mention of an outsider: %d", res.Status)
	}
	res = w.owner.post("/p/apollo/new", url.Values{"title": {"Ask Otto"}, "body": {"@out what do you think?"}, "action": {"publish"}, "mentions_ok": {"1"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("publish anyway: %d", res.Status)
	}
}

func TestMentionCompletion(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	res := w.member.get("/p/apollo/people.json?q=vi")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `"handle":"vic"`) || strings.Contains(res.Body, "olive") {
		t.Fatalf("completion: %d %s", res.Status, res.Body)
	}
}

func TestCommentsFeed(t *testing.T) {
	w := newDiscussionWorld(t, access.Public)
	w.member.post(postPath+"/comments", url.Values{"body": {"First!"}})
	w.e.clock.Add(time.Minute)
	w.viewer.post(postPath+"/comments", url.Values{"body": {"Second."}})
	f := parseFeed(t, w.e.client().get(postPath+"/comments.atom").Body)
	if len(f.Items) != 2 || !strings.Contains(f.Items[0].Content, "Second.") || !strings.Contains(f.Items[0].Link, "#comment-") {
		t.Fatalf("comments feed items %+v", f.Items)
	}
}

func TestWaitingOnOwnPage(t *testing.T) {
	w := newDiscussionWorld(t, access.Internal)
	if err := w.e.posts.RequestAcks(accessOf(w.ownerID), w.post.ID, []uint64{w.memberID}, false); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, w.member.get("/people/mia").Body, "section", "waiting"); len(got) != 1 || !strings.Contains(got[0], "Launch plan") {
		t.Fatalf("Mia's own page: %q", got)
	}
	if got := texts(t, w.owner.get("/people/mia").Body, "section", "waiting"); len(got) != 0 {
		t.Fatal("someone else's page shows their waiting list")
	}
}
