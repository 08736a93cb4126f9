package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"projblog/internal/access"
)

// browserLogin logs the browser in as email.
func browserLogin(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword)); err != nil {
		t.Fatalf("login form: %v", err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`))); err != nil {
		t.Fatalf("log in as %s: %v", email, err)
	}
}

// TestBrowserDiscussion is a discussion under one post, clicked through:
// ask for an acknowledgement, comment with an @mention picked from the
// completion list, react, mark a decision; then, as the person asked,
// see the request on the home page, acknowledge and reply.
func TestBrowserDiscussion(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t)
	owner := e.user("olive@example.com", "Olive Owner", false)
	mia := e.user("mia@example.com", "Mia Member", false)
	e.project(owner, "apollo", access.Internal)
	if err := e.posts.SetMember(owner.Actor(), "apollo", mia.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	e.post(owner, "apollo", "Launch plan", "We launch on **Friday**. Please read before the review.")
	base := e.srv.URL
	post := base + "/p/apollo/launch-plan"
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			shot(t, ctx, "failed-discussion-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(step string, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		must(step, err)
		return s
	}
	// submit clicks a form's button; the step after it waits for an element
	// that only the next page has (waiting for the navigation event itself
	// proved racy on a loaded machine).
	// The button is clicked from script once it is there: a mouse click
	// at its coordinates could land elsewhere while the page still moves.
	submit := func(step, sel string) {
		t.Helper()
		must(step, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))))
		js, _ := json.Marshal(sel)
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+string(js)+`).click(), true`))
		must(step, err)
	}

	browserLogin(t, ctx, base, "olive@example.com")
	must("open post", chromedp.Do(ctx, chromedp.Navigate(post)))

	// Ask Mia to acknowledge.
	must("open ack form", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".ack-request summary")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=ack_user]`)),
		chromedp.Click(chromedp.CSS(`input[name=ack_user]`))))
	submit("request ack", `.ack-request button[type=submit]`)
	if got := text("ack list", ".ack-list .pending"); !strings.Contains(got, "Mia Member") {
		t.Fatalf("pending acknowledgements: %q", got)
	}

	// Comment with a mention chosen from the completion list.
	must("type mention", chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("comment-body"), "Thanks @mi")))
	must("completion shows", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.mention-list li[data-handle="mia"]`))))
	shot(t, ctx, "discussion-01-completion")
	// Pick it with the mouse (a raw key event from the test would also
	// send the newline character that the page's keydown handler stops in
	// a real browser).
	must("accept completion", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.mention-list li[data-handle="mia"]`)),
		chromedp.SendKeys(chromedp.ID("comment-body"), "can you confirm Friday?")))
	body, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("comment-body")))
	must("read comment box", err)
	if body != "Thanks @mia can you confirm Friday?" {
		t.Fatalf("after completion the comment reads %q", body)
	}
	submit("post comment", `#comment-form button[type=submit]`)
	if got := text("mention link", ".comment a.mention"); got != "@mia" {
		t.Fatalf("mention link text %q", got)
	}

	// React to the post and mark the comment as the decision.
	submit("react", `.post-reactions button.reaction[title="Celebrate"]`)
	if got := text("reaction", `.post-reactions button.reaction.mine`); !strings.Contains(got, "🎉") || !strings.Contains(got, "1") {
		t.Fatalf("reaction button %q", got)
	}
	submit("mark decision", `.comment .comment-actions form[action$="/decision"] button`)
	if got := text("decision badge", ".comment .badge.decision"); got != "Decision" {
		t.Fatalf("decision badge %q", got)
	}
	shot(t, ctx, "discussion-02-owner")

	// Mia: the request waits on her home page; she acknowledges and replies.
	must("log out", chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	submit("logout", `form[action="/logout"] button`)
	must("logged out", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`header.site a[href^="/login"]`))))
	browserLogin(t, ctx, base, "mia@example.com")
	if got := text("waiting", ".waiting"); !strings.Contains(got, "Launch plan") {
		t.Fatalf("Mia's home page waiting list: %q", got)
	}
	must("open post as Mia", chromedp.Do(ctx, chromedp.Navigate(post)))
	submit("acknowledge", `.ack-me button[type=submit]`)
	if got := text("ack done", ".ack-list .done"); !strings.Contains(got, "Mia Member") {
		t.Fatalf("acknowledged list: %q", got)
	}
	must("open reply", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".comment details.reply summary")),
		chromedp.Click(chromedp.CSS(".comment details.reply summary")),
		chromedp.WaitVisible(chromedp.CSS(".comment details.reply textarea"))))
	// SetValue rather than SendKeys: focusing a textarea inside a details
	// element that has just opened is racy in headless Chromium.
	must("type reply", chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(".comment details.reply textarea"), "Confirmed: Friday it is.")))
	// The form is submitted by script: a click on a button in a details
	// element that has just opened occasionally went nowhere in headless
	// Chromium on a loaded machine.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('.comment details.reply form').requestSubmit(), true`))
	must("send reply", err)
	if got := text("reply", ".replies .comment .comment-body"); !strings.Contains(got, "Confirmed: Friday it is.") {
		t.Fatalf("reply: %q", got)
	}
	shot(t, ctx, "discussion-03-member")

	// The decision log links back into the discussion.
	must("decision log", chromedp.Do(ctx, chromedp.Navigate(base+"/p/apollo/decisions")))
	if got := text("log", ".decision-log"); !strings.Contains(got, "can you confirm Friday?") {
		t.Fatalf("decision log: %q", got)
	}
	shot(t, ctx, "discussion-04-decisions")
}
