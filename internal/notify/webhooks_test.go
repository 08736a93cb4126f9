package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// The webhook tests run the real services over a real database and post
// to a real HTTP receiver (httptest) that checks the signature of json
// webhooks with its own HMAC. The cast:
//
//	ada    owner of Apollo (internal) and of Vault (private)
//	bob    member of Apollo
//	carol  no role anywhere
//	dave   viewer of Vault

// hookReq is one request the receiver got.
type hookReq struct {
	Path, Event, Delivery, Signature, ContentType string
	Body                                          []byte
	Status                                        int // what the receiver answered
}

// hookReceiver answers with status (200 unless set); for a path with a
// secret it first checks X-Projblog-Signature and answers 401 when it is
// wrong.
type hookReceiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	status  int
	secrets map[string]string
	reqs    []hookReq
}

func startReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{t: t, status: http.StatusOK, secrets: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	got := hookReq{Path: req.URL.Path, Event: req.Header.Get("X-Projblog-Event"),
		Delivery: req.Header.Get("X-Projblog-Delivery"), Signature: req.Header.Get("X-Projblog-Signature"),
		ContentType: req.Header.Get("Content-Type"), Body: body, Status: r.status}
	if secret, ok := r.secrets[req.URL.Path]; ok {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(got.Signature), []byte(want)) {
			got.Status = http.StatusUnauthorized
		}
	}
	r.reqs = append(r.reqs, got)
	w.WriteHeader(got.Status)
	io.WriteString(w, http.StatusText(got.Status))
}

func (r *hookReceiver) setStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

func (r *hookReceiver) setSecret(path, secret string) {
	r.mu.Lock()
	r.secrets[path] = secret
	r.mu.Unlock()
}

// requests returns what arrived at path ("" for every path).
func (r *hookReceiver) requests(path string) []hookReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hookReq
	for _, q := range r.reqs {
		if path == "" || q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// accepted returns the requests at path that the receiver answered 2xx.
func (r *hookReceiver) accepted(path string) []hookReq {
	var out []hookReq
	for _, q := range r.requests(path) {
		if q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

type hookEnv struct {
	*mailEnv
	t                     *testing.T
	rcv                   *hookReceiver
	ada, bob, carol, dave *users.User
	ctx                   context.Context
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := &hookEnv{mailEnv: newMailEnv(t, nil), t: t, rcv: startReceiver(t), ctx: context.Background()}
	e.clock.Set(noticeT0.Add(-time.Hour))
	e.ada = e.newUser("ada@example.com", "Ada Lovelace", "", "en")
	e.bob = e.newUser("bob@example.com", "Bob Builder", "", "en")
	e.carol = e.newUser("carol@example.com", "Carol Jones", "", "en")
	e.dave = e.newUser("dave@example.com", "Dave Viewer", "", "en")
	for _, p := range []posts.ProjectInput{
		{Slug: "apollo", Name: "Apollo", Visibility: access.Internal},
		{Slug: "vault", Name: "Vault", Visibility: access.Private},
	} {
		if _, err := e.posts.CreateProject(e.ada.Actor(), p, e.ada.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.posts.SetMember(e.ada.Actor(), "apollo", e.bob.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetMember(e.ada.Actor(), "vault", e.dave.ID, access.Viewer); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(noticeT0)
	return e
}

// hook adds a webhook as Ada posting to the receiver's path, and tells
// the receiver the secret of a json one.
func (e *hookEnv) hook(project, path, format string, events ...string) *notify.Webhook {
	e.t.Helper()
	w, err := e.n.AddWebhook(e.ada.Actor(), project, e.rcv.srv.URL+path, format, events)
	if err != nil {
		e.t.Fatalf("AddWebhook %s %s: %v", project, format, err)
	}
	if format == notify.WebhookJSON {
		if len(w.Secret) != 64 {
			e.t.Fatalf("secret %q", w.Secret)
		}
		e.rcv.setSecret(path, w.Secret)
	}
	return w
}

func (e *hookEnv) consume() int {
	e.t.Helper()
	n, err := e.n.ConsumeWebhookEvents(e.ctx)
	if err != nil {
		e.t.Fatalf("ConsumeWebhookEvents: %v", err)
	}
	return n
}

// deliver runs DeliverWebhooks and checks its counts.
func (e *hookEnv) deliver(wantSent, wantFailed int) {
	e.t.Helper()
	sent, failed, err := e.n.DeliverWebhooks(e.ctx)
	if err != nil {
		e.t.Fatalf("DeliverWebhooks: %v", err)
	}
	if sent != wantSent || failed != wantFailed {
		e.t.Fatalf("DeliverWebhooks sent %d, failed %d; want %d, %d", sent, failed, wantSent, wantFailed)
	}
}

func (e *hookEnv) post(by *users.User, project string, in posts.PostInput) *posts.Post {
	e.t.Helper()
	if in.Body == "" {
		in.Body = "Text."
	}
	p, err := e.posts.CreatePost(by.Actor(), project, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *hookEnv) comment(by *users.User, p *posts.Post, body string) *posts.Comment {
	e.t.Helper()
	c, err := e.posts.AddComment(by.Actor(), p.ID, posts.CommentInput{Body: body})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *hookEnv) log(project string, w *notify.Webhook) []notify.WebhookDelivery {
	e.t.Helper()
	l, err := e.n.WebhookLog(e.ada.Actor(), project, w.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *hookEnv) webhooks(project string) []notify.Webhook {
	e.t.Helper()
	ws, err := e.n.Webhooks(e.ada.Actor(), project)
	if err != nil {
		e.t.Fatal(err)
	}
	return ws
}

func eventsOf(reqs []hookReq) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Event)
	}
	return out
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func keysOfMap(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestWebhookPayloads: one webhook of each format hears a post, a
// comment, a decision and a status update; each payload has its
// format's shape, absolute links, and the json one a valid signature.
func TestWebhookPayloads(t *testing.T) {
	e := newHookEnv(t)
	e.hook("apollo", "/slack", notify.WebhookSlack)
	e.hook("apollo", "/teams", notify.WebhookTeams)
	e.hook("apollo", "/json", notify.WebhookJSON)

	plan := e.post(e.bob, "apollo", posts.PostInput{Title: "Launch plan", Body: "We go on **Tuesday**.\n\nMore later."})
	c := e.comment(e.bob, plan, "Is 2 < 3 & *ready*?")
	if err := e.posts.SetDecision(e.ada.Actor(), posts.Target{PostID: plan.ID}, true); err != nil {
		t.Fatal(err)
	}
	status := e.post(e.ada, "apollo", posts.PostInput{Title: "Week 48", Body: "Late by a week.", Health: posts.AtRisk})
	if n := e.consume(); n != 15 {
		t.Fatalf("queued %d deliveries, want 5 events × 3 webhooks", n)
	}
	e.deliver(15, 0)

	const base = mailBaseURL
	planURL, statusURL := base+"/p/apollo/launch-plan", base+"/p/apollo/week-48"
	commentURL := planURL + "#comment-" + itoa(c.ID)
	wantEvents := []string{"post.published", "comment.added", "decision.marked", "post.published", "health.changed"}
	wantLinks := []string{planURL, commentURL, planURL, statusURL, statusURL}
	ids := map[string]bool{}
	for _, path := range []string{"/slack", "/teams", "/json"} {
		got := e.rcv.accepted(path)
		if !slices.Equal(eventsOf(got), wantEvents) || len(e.rcv.requests(path)) != 5 {
			t.Fatalf("%s: events %v (%d requests)", path, eventsOf(got), len(e.rcv.requests(path)))
		}
		for _, r := range got {
			if r.ContentType != "application/json" || r.Delivery == "" || ids[r.Delivery] {
				t.Errorf("%s: Content-Type %q, delivery ID %q (seen: %v)", path, r.ContentType, r.Delivery, ids[r.Delivery])
			}
			ids[r.Delivery] = true
			if (path == "/json") != (r.Signature != "") {
				t.Errorf("%s: signature %q", path, r.Signature)
			}
		}
	}

	// Slack: {"text"} in mrkdwn, with <url|title> links and &, <, >
	// escaped.
	slack := e.rcv.accepted("/slack")
	wantSlack := []string{
		"Bob Builder published <" + planURL + "|Launch plan> in <" + base + "/p/apollo|Apollo>\n>We go on Tuesday.",
		"Bob Builder commented on <" + commentURL + "|Launch plan> in <" + base + "/p/apollo|Apollo>\n>Is 2 &lt; 3 &amp; ready?",
		"Ada Lovelace marked <" + planURL + "|Launch plan> as a decision in <" + base + "/p/apollo|Apollo>\n>We go on Tuesday.",
		"Ada Lovelace published <" + statusURL + "|Week 48> in <" + base + "/p/apollo|Apollo>\n>Late by a week.",
		"<" + base + "/p/apollo|Apollo> is now at risk (was without a status): <" + statusURL + "|Week 48>",
	}
	for i, r := range slack {
		m := decodeJSON(t, r.Body)
		if !slices.Equal(keysOfMap(m), []string{"text"}) || m["text"] != wantSlack[i] {
			t.Errorf("slack %s:\n got %s\nwant text %q", r.Event, r.Body, wantSlack[i])
		}
	}

	// Teams: a MessageCard whose action opens the page.
	for i, r := range e.rcv.accepted("/teams") {
		m := decodeJSON(t, r.Body)
		if m["@type"] != "MessageCard" || m["@context"] != "https://schema.org/extensions" || m["title"] != "Apollo" {
			t.Errorf("teams %s: %s", r.Event, r.Body)
		}
		if s, _ := m["summary"].(string); s == "" || strings.ContainsAny(s, "[]<") {
			t.Errorf("teams %s: summary %q", r.Event, s)
		}
		var card struct {
			Text   string `json:"text"`
			Action []struct {
				Type    string `json:"@type"`
				Name    string `json:"name"`
				Targets []struct{ OS, URI string }
			} `json:"potentialAction"`
		}
		if err := json.Unmarshal(r.Body, &card); err != nil {
			t.Fatal(err)
		}
		if len(card.Action) != 1 || card.Action[0].Type != "OpenUri" || card.Action[0].Name != "Open" ||
			len(card.Action[0].Targets) != 1 || card.Action[0].Targets[0].OS != "default" || card.Action[0].Targets[0].URI != wantLinks[i] {
			t.Errorf("teams %s: potentialAction %+v, want OpenUri %s", r.Event, card.Action, wantLinks[i])
		}
		if i == 1 && card.Text != "Bob Builder commented on [Launch plan]("+commentURL+") in [Apollo]("+base+"/p/apollo)\n\n> Is 2 &lt; 3 &amp; ready?" {
			t.Errorf("teams comment text %q", card.Text)
		}
	}

	// JSON: the documented fields, signed (the receiver answered 401 to
	// a bad signature, and all five were accepted).
	type jsonBody struct {
		Event   string    `json:"event"`
		Time    time.Time `json:"time"`
		Text    string    `json:"text"`
		Project struct{ Slug, Name, URL string }
		Post    *struct {
			ID         uint64
			Title, URL string
			Summary    string
		}
		Comment *struct {
			ID           uint64
			URL, Excerpt string
		}
		Actor  *struct{ Name string }
		Health *struct{ From, To string }
	}
	for i, r := range e.rcv.accepted("/json") {
		var b jsonBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		if b.Event != wantEvents[i] || b.Event != r.Event || !b.Time.Equal(noticeT0) || b.Text == "" ||
			b.Project.Slug != "apollo" || b.Project.Name != "Apollo" || b.Project.URL != base+"/p/apollo" || b.Actor == nil {
			t.Errorf("json %d: %s", i, r.Body)
		}
		if b.Post == nil || b.Post.URL != strings.Split(wantLinks[i], "#")[0] {
			t.Errorf("json %s: post %+v", b.Event, b.Post)
		}
		if (b.Comment != nil) != (b.Event == "comment.added") || (b.Health != nil) != (b.Event == "health.changed") {
			t.Errorf("json %s: comment %+v, health %+v", b.Event, b.Comment, b.Health)
		}
	}
	var first, com, health jsonBody
	json.Unmarshal(e.rcv.accepted("/json")[0].Body, &first)
	json.Unmarshal(e.rcv.accepted("/json")[1].Body, &com)
	json.Unmarshal(e.rcv.accepted("/json")[4].Body, &health)
	if first.Post.ID != plan.ID || first.Post.Title != "Launch plan" || first.Post.Summary != "We go on Tuesday." || first.Actor.Name != "Bob Builder" {
		t.Errorf("json post.published: %+v %+v", first.Post, first.Actor)
	}
	if com.Comment.ID != c.ID || com.Comment.URL != commentURL || com.Comment.Excerpt != "Is 2 < 3 & ready?" {
		t.Errorf("json comment.added: %+v", com.Comment)
	}
	if health.Health.From != "" || health.Health.To != "at_risk" || health.Post.ID != status.ID {
		t.Errorf("json health.changed: %+v %+v", health.Health, health.Post)
	}

	// The log has each attempt, delivered.
	for _, w := range e.webhooks("apollo") {
		l := e.log("apollo", &w)
		if len(l) != 5 || w.Pending != 0 || w.Failed != 0 {
			t.Fatalf("webhook %s: %d log entries, %d pending, %d failed", w.Format, len(l), w.Pending, w.Failed)
		}
		for _, d := range l {
			if d.Outcome != notify.DeliveryOK || d.StatusCode != 200 || d.Attempt != 1 || !d.At.Equal(noticeT0) || d.Error != "" {
				t.Errorf("webhook %s: log entry %+v", w.Format, d)
			}
		}
		if l[0].Event != "health.changed" {
			t.Errorf("log not newest first: %+v", l[0])
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestWebhookFailures: what the receiver does not accept is a failed
// attempt that says why: a bad signature (401), a redirect (not
// followed), no answer within the client's timeout, nobody listening.
func TestWebhookFailures(t *testing.T) {
	e := newHookEnv(t)
	forged := e.hook("apollo", "/forged", notify.WebhookJSON)
	e.rcv.setSecret("/forged", "not the webhook's secret")
	mux := http.NewServeMux()
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	other := httptest.NewServer(mux)
	t.Cleanup(other.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()

	// A client with a short timeout, as Options.HTTPClient allows.
	n, err := notify.New(e.db, e.posts, e.users, notify.Options{Now: e.clock.Now, BaseURL: mailBaseURL,
		HTTPClient: &http.Client{Timeout: 100 * time.Millisecond, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}})
	if err != nil {
		t.Fatal(err)
	}
	add := func(u string) *notify.Webhook {
		w, err := n.AddWebhook(e.ada.Actor(), "apollo", u, notify.WebhookSlack, nil)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	moved, slow, refused := add(other.URL+"/moved"), add(other.URL+"/slow"), add(goneURL+"/hook")
	for _, w := range []*notify.Webhook{forged, moved, slow, refused} {
		if err := n.TestWebhook(e.ada.Actor(), "apollo", w.ID); err != nil {
			t.Fatal(err)
		}
	}
	sent, failed, err := n.DeliverWebhooks(e.ctx)
	if sent != 0 || failed != 4 || err != nil {
		t.Fatalf("DeliverWebhooks = %d, %d, %v; want 4 failures", sent, failed, err)
	}
	cases := []struct {
		w      *notify.Webhook
		status int
		err    string
	}{
		{forged, 401, "HTTP 401 Unauthorized: Unauthorized"},
		{moved, 302, "HTTP 302 Found"},
		{slow, 0, "Timeout"},
		{refused, 0, "refused"},
	}
	for _, c := range cases {
		l := e.log("apollo", c.w)
		if len(l) != 1 || l[0].StatusCode != c.status || !strings.Contains(l[0].Error, c.err) ||
			l[0].Outcome != notify.DeliveryRetry || !l[0].NextAt.Equal(noticeT0.Add(time.Minute)) || l[0].Event != notify.EventPing {
			t.Errorf("%s: log %+v, want status %d and an error with %q", c.w.URL, l, c.status, c.err)
		}
	}
	for _, w := range []*notify.Webhook{slow, refused} {
		if l := e.log("apollo", w); strings.Contains(l[0].Error, "/slow") || strings.Contains(l[0].Error, "/hook") {
			t.Errorf("the error shows the URL, whose path may be a secret: %q", l[0].Error)
		}
	}
	if got := e.rcv.requests("/forged"); len(got) != 1 || got[0].Signature == "" {
		t.Fatalf("forged: %+v", got)
	}
}

// TestWebhookReceiverDownThenUp: while the receiver answers 500 the
// deliveries wait, one request per round; once it is up, every delivery
// arrives exactly once, with the ID it had from the start.
func TestWebhookReceiverDownThenUp(t *testing.T) {
	e := newHookEnv(t)
	w := e.hook("apollo", "/json", notify.WebhookJSON)
	e.rcv.setStatus(http.StatusInternalServerError)
	for _, title := range []string{"One", "Two", "Three"} {
		e.post(e.bob, "apollo", posts.PostInput{Title: title})
	}
	if n := e.consume(); n != 3 {
		t.Fatalf("queued %d", n)
	}
	// The clock stands still: each round tries the next delivery once;
	// the others wait for it.
	for range 3 {
		e.deliver(0, 1)
	}
	e.deliver(0, 0) // every delivery waits for its retry
	if got := e.rcv.requests("/json"); len(got) != 3 {
		t.Fatalf("%d requests while down, want 3", len(got))
	}
	if ws := e.webhooks("apollo"); ws[0].Pending != 3 || ws[0].Failed != 0 {
		t.Fatalf("pending %d, failed %d", ws[0].Pending, ws[0].Failed)
	}
	for _, d := range e.log("apollo", w) {
		if d.StatusCode != 500 || d.Outcome != notify.DeliveryRetry || d.Attempt != 1 || !d.NextAt.Equal(noticeT0.Add(notify.RetryDelay(1))) {
			t.Errorf("log entry %+v", d)
		}
	}

	e.rcv.setStatus(http.StatusOK)
	e.clock.Advance(notify.RetryDelay(1) - time.Second)
	e.deliver(0, 0) // not due yet
	e.clock.Advance(time.Second)
	e.deliver(3, 0)
	e.deliver(0, 0)
	e.clock.Advance(24 * time.Hour)
	e.deliver(0, 0)

	down, up := map[string]int{}, map[string]int{}
	for _, r := range e.rcv.requests("/json") {
		if r.Status == 200 {
			up[r.Delivery]++
		} else {
			down[r.Delivery]++
		}
	}
	if len(up) != 3 || len(down) != 3 {
		t.Fatalf("accepted %v, refused %v", up, down)
	}
	for id, n := range up {
		if n != 1 || down[id] != 1 {
			t.Errorf("delivery %s: accepted %d times, refused %d times; want once each", id, n, down[id])
		}
	}
	var titles []string
	for _, r := range e.rcv.accepted("/json") {
		var b struct{ Post struct{ Title string } }
		json.Unmarshal(r.Body, &b)
		titles = append(titles, b.Post.Title)
	}
	if !slices.Equal(titles, []string{"One", "Two", "Three"}) {
		t.Errorf("arrived %v", titles)
	}
	l := e.log("apollo", w)
	if len(l) != 6 || l[0].Outcome != notify.DeliveryOK || l[0].Attempt != 2 || l[3].Outcome != notify.DeliveryRetry {
		t.Errorf("log %+v", l)
	}
	if ws := e.webhooks("apollo"); ws[0].Pending != 0 || ws[0].Failed != 0 {
		t.Errorf("pending %d, failed %d after delivery", ws[0].Pending, ws[0].Failed)
	}
}

// TestWebhookGivesUp: a receiver that never answers 2xx gets MaxAttempts
// attempts with growing delays; the delivery is then failed, kept,
// visible, and sent when an owner asks again.
func TestWebhookGivesUp(t *testing.T) {
	e := newHookEnv(t)
	w := e.hook("apollo", "/slack", notify.WebhookSlack)
	e.rcv.setStatus(http.StatusServiceUnavailable)
	e.post(e.bob, "apollo", posts.PostInput{Title: "Doomed"})
	e.consume()
	for i := 1; i <= notify.MaxAttempts; i++ {
		e.deliver(0, 1)
		if i < notify.MaxAttempts {
			e.clock.Advance(notify.RetryDelay(i) - time.Second)
			e.deliver(0, 0) // the backoff holds
			e.clock.Advance(time.Second)
		}
	}
	e.clock.Advance(48 * time.Hour)
	e.deliver(0, 0)
	reqs := e.rcv.requests("/slack")
	if len(reqs) != notify.MaxAttempts {
		t.Fatalf("%d attempts, want %d", len(reqs), notify.MaxAttempts)
	}
	for _, r := range reqs[1:] {
		if r.Delivery != reqs[0].Delivery {
			t.Fatal("the delivery ID changed between attempts")
		}
	}
	l := e.log("apollo", w)
	if len(l) != notify.MaxAttempts || l[0].Outcome != notify.DeliveryFail || l[0].Attempt != notify.MaxAttempts || l[1].Outcome != notify.DeliveryRetry {
		t.Fatalf("log %+v", l[:2])
	}
	if ws := e.webhooks("apollo"); ws[0].Failed != 1 || ws[0].Pending != 0 {
		t.Fatalf("failed %d, pending %d", ws[0].Failed, ws[0].Pending)
	}
	fs, err := e.n.WebhookFailures()
	if err != nil || len(fs) != 1 || fs[0].Attempts != notify.MaxAttempts || fs[0].WebhookID != w.ID ||
		fs[0].Host != w.Host() || fs[0].DeliveryID != reqs[0].Delivery || !strings.Contains(fs[0].LastError, "503") {
		t.Fatalf("WebhookFailures = %+v, %v", fs, err)
	}

	// Sent again on request, once the receiver is back.
	e.rcv.setStatus(http.StatusNoContent)
	if n, err := e.n.RetryWebhookDeliveries(e.ada.Actor(), "apollo", w.ID); n != 1 || err != nil {
		t.Fatalf("RetryWebhookDeliveries = %d, %v", n, err)
	}
	e.deliver(1, 0)
	if got := e.rcv.accepted("/slack"); len(got) != 1 || got[0].Delivery != reqs[0].Delivery {
		t.Fatalf("accepted %+v", got)
	}
	if fs, _ := e.n.WebhookFailures(); len(fs) != 0 {
		t.Errorf("failures left: %+v", fs)
	}
	if l := e.log("apollo", w); l[0].Outcome != notify.DeliveryOK || l[0].StatusCode != 204 || l[0].Attempt != 1 {
		t.Errorf("log after the retry: %+v", l[0])
	}
	if len(e.log("apollo", w)) != notify.MaxAttempts+1 {
		t.Errorf("log has %d entries", len(e.log("apollo", w)))
	}
}

// TestWebhookEventsFilter: a webhook hears its own project's events of
// the kinds it chose; drafts and posts deleted before the event is read
// are not told; a paused webhook hears nothing new and holds its queue.
func TestWebhookEventsFilter(t *testing.T) {
	e := newHookEnv(t)
	e.hook("apollo", "/health", notify.WebhookJSON, notify.WebhookHealth)
	comments := e.hook("apollo", "/comments", notify.WebhookJSON, notify.WebhookComments)
	e.hook("apollo", "/posts", notify.WebhookJSON, notify.WebhookPosts)
	e.hook("vault", "/vault", notify.WebhookJSON)

	plan := e.post(e.bob, "apollo", posts.PostInput{Title: "Plan"})
	e.comment(e.bob, plan, "First.")
	e.post(e.ada, "apollo", posts.PostInput{Title: "Status", Health: posts.OffTrack})
	e.post(e.bob, "apollo", posts.PostInput{Title: "Draft", Draft: true})
	oops := e.post(e.bob, "apollo", posts.PostInput{Title: "Oops"})
	if err := e.posts.DeletePost(e.bob.Actor(), oops.ID); err != nil {
		t.Fatal(err)
	}
	e.post(e.ada, "vault", posts.PostInput{Title: "Secret plan"})
	if err := e.posts.SetDecision(e.ada.Actor(), posts.Target{PostID: plan.ID}, true); err != nil {
		t.Fatal(err) // nobody hears decisions but vault, which is another project
	}
	if n := e.consume(); n != 5 {
		t.Fatalf("queued %d, want 5", n)
	}
	e.deliver(5, 0)
	want := map[string][]string{
		"/health":   {"health.changed"},
		"/comments": {"comment.added"},
		"/posts":    {"post.published", "post.published"},
		"/vault":    {"post.published"},
	}
	for path, events := range want {
		if got := eventsOf(e.rcv.accepted(path)); !slices.Equal(got, events) {
			t.Errorf("%s heard %v, want %v", path, got, events)
		}
	}
	var b struct{ Post struct{ Title string } }
	json.Unmarshal(e.rcv.accepted("/vault")[0].Body, &b)
	if b.Post.Title != "Secret plan" {
		t.Errorf("vault heard %q", b.Post.Title)
	}

	// Paused: a queued delivery waits, new events are not queued.
	e.comment(e.bob, plan, "Second.")
	e.consume()
	if err := e.n.SetWebhookActive(e.ada.Actor(), "apollo", comments.ID, false); err != nil {
		t.Fatal(err)
	}
	e.comment(e.bob, plan, "Third, while paused.")
	if n := e.consume(); n != 0 {
		t.Fatalf("a paused webhook got %d deliveries", n)
	}
	e.deliver(0, 0)
	if err := e.n.SetWebhookActive(e.ada.Actor(), "apollo", comments.ID, true); err != nil {
		t.Fatal(err)
	}
	e.comment(e.bob, plan, "Fourth.")
	e.consume()
	e.deliver(2, 0)
	var excerpts []string
	for _, r := range e.rcv.accepted("/comments") {
		var b struct{ Comment struct{ Excerpt string } }
		json.Unmarshal(r.Body, &b)
		excerpts = append(excerpts, b.Comment.Excerpt)
	}
	if !slices.Equal(excerpts, []string{"First.", "Second.", "Fourth."}) {
		t.Errorf("comments heard %q", excerpts)
	}
}

// TestWebhookExactlyOnce: reading the same events again (twice, after a
// restart, after a crash between the deliveries' write and the store's
// cursor) queues nothing twice, also once the first ones were delivered.
func TestWebhookExactlyOnce(t *testing.T) {
	e := newHookEnv(t)
	e.hook("apollo", "/json", notify.WebhookJSON)
	e.hook("apollo", "/slack", notify.WebhookSlack)
	e.post(e.bob, "apollo", posts.PostInput{Title: "Once"})
	if n := e.consume(); n != 2 {
		t.Fatalf("first read queued %d", n)
	}
	if n := e.consume(); n != 0 {
		t.Fatalf("second read queued %d", n)
	}
	e.reopen()
	if n := e.consume(); n != 0 {
		t.Fatalf("read after a restart queued %d", n)
	}
	// The store's cursor did not move (a crash after the deliveries
	// committed): the batch comes again.
	if err := e.db.SetCursor(notify.WebhookConsumer, 0); err != nil {
		t.Fatal(err)
	}
	if n := e.consume(); n != 0 {
		t.Fatalf("read after rewinding the cursor queued %d", n)
	}
	e.deliver(2, 0)
	if err := e.db.SetCursor(notify.WebhookConsumer, 0); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if n := e.consume(); n != 0 {
		t.Fatalf("read after delivery queued %d", n)
	}
	e.deliver(0, 0)
	if len(e.rcv.requests("")) != 2 {
		t.Fatalf("%d requests, want 2", len(e.rcv.requests("")))
	}
	// Later events still come through.
	e.post(e.bob, "apollo", posts.PostInput{Title: "Twice"})
	if n := e.consume(); n != 2 {
		t.Fatalf("a new post queued %d", n)
	}
	e.deliver(2, 0)
}

// TestWebhooksStartAtHead: turning webhooks on over an existing database
// does not send its history.
func TestWebhooksStartAtHead(t *testing.T) {
	clock := &mailClock{t: noticeT0}
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	us, err := users.New(db, users.Options{Now: clock.Now, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ada, err := us.Create(users.NewUser{Email: "ada@example.com", Name: "Ada", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.CreateProject(ada.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo"}, ada.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.CreatePost(ada.Actor(), "apollo", posts.PostInput{Title: "Old", Body: "Before."}); err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(db, ps, us, notify.Options{Now: clock.Now, BaseURL: mailBaseURL})
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := db.CursorOf(notify.WebhookConsumer); cur != db.Head() || cur == 0 {
		t.Errorf("cursor %d, head %d", cur, db.Head())
	}
	rcv := startReceiver(t)
	if _, err := n.AddWebhook(ada.Actor(), "apollo", rcv.srv.URL+"/hook", notify.WebhookSlack, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.CreatePost(ada.Actor(), "apollo", posts.PostInput{Title: "New", Body: "After."}); err != nil {
		t.Fatal(err)
	}
	if got, err := n.ConsumeWebhookEvents(context.Background()); got != 1 || err != nil {
		t.Fatalf("ConsumeWebhookEvents = %d, %v; want the new post only", got, err)
	}
}

// TestWebhookPermissions: only those who manage the project (owners,
// admins) see and change its webhooks; the others get the access
// policy's answer. Bad input names its field.
func TestWebhookPermissions(t *testing.T) {
	e := newHookEnv(t)
	admin, err := e.users.Create(users.NewUser{Email: "root@example.com", Name: "Root", Password: "correct horse battery", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	w := e.hook("vault", "/vault", notify.WebhookJSON)
	u := e.rcv.srv.URL + "/x"
	cases := []struct {
		name    string
		actor   access.Actor
		project string
		want    apperr.Code
	}{
		{"MemberOfInternal", e.bob.Actor(), "apollo", apperr.Forbidden},
		{"NonMemberOfInternal", e.carol.Actor(), "apollo", apperr.Forbidden},
		{"AnonymousOnInternal", access.Anonymous, "apollo", apperr.NotFound},
		{"OutsiderOfPrivate", e.carol.Actor(), "vault", apperr.NotFound},
		{"ViewerOfPrivate", e.dave.Actor(), "vault", apperr.Forbidden},
		{"MemberOfOtherProject", e.bob.Actor(), "vault", apperr.NotFound},
		{"NoSuchProject", e.ada.Actor(), "nope", apperr.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.n.AddWebhook(c.actor, c.project, u, notify.WebhookSlack, nil); apperr.CodeOf(err) != c.want {
				t.Errorf("AddWebhook: %v, want %s", err, c.want)
			}
			if _, err := e.n.Webhooks(c.actor, c.project); apperr.CodeOf(err) != c.want {
				t.Errorf("Webhooks: %v, want %s", err, c.want)
			}
			if _, err := e.n.WebhookLog(c.actor, c.project, w.ID); apperr.CodeOf(err) != c.want {
				t.Errorf("WebhookLog: %v, want %s", err, c.want)
			}
			if err := e.n.TestWebhook(c.actor, c.project, w.ID); apperr.CodeOf(err) != c.want {
				t.Errorf("TestWebhook: %v, want %s", err, c.want)
			}
			if err := e.n.DeleteWebhook(c.actor, c.project, w.ID); apperr.CodeOf(err) != c.want {
				t.Errorf("DeleteWebhook: %v, want %s", err, c.want)
			}
		})
	}
	if ws := e.webhooks("vault"); len(ws) != 1 {
		t.Fatalf("%d webhooks after the refusals", len(ws))
	}

	t.Run("Admin", func(t *testing.T) {
		aw, err := e.n.AddWebhook(admin.Actor(), "vault", u, notify.WebhookTeams, []string{"health"})
		if err != nil || aw.Secret != "" || !slices.Equal(aw.Events, []string{"health"}) || !aw.Active {
			t.Fatalf("AddWebhook as admin: %+v, %v", aw, err)
		}
		if err := e.n.DeleteWebhook(admin.Actor(), "vault", aw.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrBadInput", func(t *testing.T) {
		bad := []struct {
			url, format string
			events      []string
			field       string
		}{
			{"", notify.WebhookSlack, nil, "url"},
			{"ftp://example.com/hook", notify.WebhookSlack, nil, "url"},
			{"hooks.slack.com/services/x", notify.WebhookSlack, nil, "url"},
			{"/relative", notify.WebhookSlack, nil, "url"},
			{"https://", notify.WebhookSlack, nil, "url"},
			{"https://example.com/" + strings.Repeat("x", notify.MaxWebhookURLLen), notify.WebhookSlack, nil, "url"},
			{u, "xml", nil, "format"},
			{u, "", nil, "format"},
			{u, notify.WebhookJSON, []string{"posts", "tweets"}, "events"},
		}
		for _, b := range bad {
			_, err := e.n.AddWebhook(e.ada.Actor(), "apollo", b.url, b.format, b.events)
			var ae *apperr.Error
			if !asAppErr(err, &ae) || ae.Code != apperr.Invalid || ae.Field != b.field {
				t.Errorf("AddWebhook(%.40q, %q, %v) = %v, want Invalid on %s", b.url, b.format, b.events, err, b.field)
			}
		}
		if ws := e.webhooks("apollo"); len(ws) != 0 {
			t.Errorf("%d webhooks stored from bad input", len(ws))
		}
	})

	t.Run("ErrOtherProjectsWebhook", func(t *testing.T) {
		if err := e.n.DeleteWebhook(e.ada.Actor(), "apollo", w.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("DeleteWebhook of another project's webhook: %v", err)
		}
		if _, err := e.n.WebhookLog(e.ada.Actor(), "apollo", w.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("WebhookLog of another project's webhook: %v", err)
		}
	})

	t.Run("ErrTooMany", func(t *testing.T) {
		for i := 0; i < notify.MaxWebhooks; i++ {
			if _, err := e.n.AddWebhook(e.ada.Actor(), "apollo", u, notify.WebhookSlack, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.n.AddWebhook(e.ada.Actor(), "apollo", u, notify.WebhookSlack, nil); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("webhook %d: %v", notify.MaxWebhooks+1, err)
		}
	})
}

func asAppErr(err error, target **apperr.Error) bool { return errors.As(err, target) }

// TestWebhookTestAndDelete: "Send a test" delivers a ping; deleting a
// webhook takes its queue and its log with it.
func TestWebhookTestAndDelete(t *testing.T) {
	e := newHookEnv(t)
	w := e.hook("vault", "/json", notify.WebhookJSON)
	if err := e.n.TestWebhook(e.ada.Actor(), "vault", w.ID); err != nil {
		t.Fatal(err)
	}
	e.deliver(1, 0)
	got := e.rcv.accepted("/json")
	if len(got) != 1 || got[0].Event != notify.EventPing {
		t.Fatalf("ping: %+v", got)
	}
	m := decodeJSON(t, got[0].Body)
	if m["event"] != "ping" || m["project"].(map[string]any)["slug"] != "vault" || m["actor"].(map[string]any)["name"] != "Ada Lovelace" {
		t.Errorf("ping payload %s", got[0].Body)
	}

	e.rcv.setStatus(http.StatusBadGateway)
	e.post(e.ada, "vault", posts.PostInput{Title: "Pending"})
	e.consume()
	e.deliver(0, 1)
	if ws := e.webhooks("vault"); ws[0].Pending != 1 {
		t.Fatalf("pending %d", ws[0].Pending)
	}
	if err := e.n.DeleteWebhook(e.ada.Actor(), "vault", w.ID); err != nil {
		t.Fatal(err)
	}
	e.rcv.setStatus(http.StatusOK)
	e.clock.Advance(time.Hour)
	e.deliver(0, 0)
	if ws := e.webhooks("vault"); len(ws) != 0 {
		t.Errorf("webhooks left: %+v", ws)
	}
	if _, err := e.n.WebhookLog(e.ada.Actor(), "vault", w.ID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("log of a deleted webhook: %v", err)
	}
	if n := len(e.rcv.requests("/json")); n != 2 {
		t.Errorf("%d requests, want the ping and one failed attempt", n)
	}
}

// TestRunDeliversWebhooks: the scheduler's loop reads the events and
// delivers on its own.
func TestRunDeliversWebhooks(t *testing.T) {
	e := newHookEnv(t)
	e.hook("apollo", "/json", notify.WebhookJSON)
	e.post(e.bob, "apollo", posts.PostInput{Title: "Scheduled"})
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.n.Run(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.rcv.accepted("/json")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond) // a few more rounds: nothing more may come
	cancel()
	<-done
	if n := len(e.rcv.requests("/json")); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if !strings.Contains(logs.String(), "webhook deliveries sent") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestWebhookTextAndOverdue: a title full of markup characters stays
// text in Slack and Teams; a missed status update (update.overdue) is
// told to the webhooks that hear health, with its due time.
func TestWebhookTextAndOverdue(t *testing.T) {
	e := newHookEnv(t)
	e.hook("apollo", "/slack", notify.WebhookSlack, notify.WebhookPosts, notify.WebhookHealth)
	e.hook("apollo", "/teams", notify.WebhookTeams, notify.WebhookPosts)
	e.hook("apollo", "/json", notify.WebhookJSON, notify.WebhookHealth)
	p := e.post(e.bob, "apollo", posts.PostInput{Title: "R&D <beta> | [v2] *now*"})
	e.consume()
	e.deliver(2, 0)
	u := mailBaseURL + "/p/apollo/" + p.Slug
	var slack struct{ Text string }
	json.Unmarshal(e.rcv.accepted("/slack")[0].Body, &slack)
	if want := "Bob Builder published <" + u + "|R&amp;D &lt;beta&gt; | [v2] *now*> in <" + mailBaseURL + "/p/apollo|Apollo>\n>Text."; slack.Text != want {
		t.Errorf("slack text\n got %q\nwant %q", slack.Text, want)
	}
	var teams struct{ Summary, Text string }
	json.Unmarshal(e.rcv.accepted("/teams")[0].Body, &teams)
	if want := `Bob Builder published [R&amp;D &lt;beta&gt; | \[v2\] \*now\*](` + u + `) in [Apollo](` + mailBaseURL + "/p/apollo)\n\n> Text."; teams.Text != want {
		t.Errorf("teams text\n got %q\nwant %q", teams.Text, want)
	}
	if want := "Bob Builder published “R&D <beta> | [v2] *now*” in Apollo"; teams.Summary != want {
		t.Errorf("teams summary %q, want %q", teams.Summary, want)
	}

	// A weekly update due on Fridays at 09:00 UTC, never posted.
	if err := e.posts.SetCadence(e.ada.Actor(), "apollo", &posts.Cadence{Every: posts.EveryWeek, Weekday: time.Friday, Hour: 9}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(14 * 24 * time.Hour)
	if n, err := e.posts.CheckOverdue(e.clock.Now()); err != nil || n == 0 {
		t.Fatalf("CheckOverdue = %d, %v", n, err)
	}
	if n := e.consume(); n != 2 {
		t.Fatalf("queued %d, want the overdue report to slack and json", n)
	}
	e.deliver(2, 0)
	var j struct {
		Event string
		Due   time.Time
		Post  *struct{}
		Actor *struct{}
	}
	json.Unmarshal(e.rcv.accepted("/json")[0].Body, &j)
	if j.Event != "update.overdue" || j.Due.IsZero() || j.Post != nil || j.Actor != nil {
		t.Errorf("json overdue: %s", e.rcv.accepted("/json")[0].Body)
	}
	json.Unmarshal(e.rcv.accepted("/slack")[1].Body, &slack)
	if want := "<" + mailBaseURL + "/p/apollo|Apollo>: the status update due " + j.Due.Format("Monday 2 January 2006, 15:04 UTC") + " has not been posted yet"; slack.Text != want {
		t.Errorf("slack overdue %q, want %q", slack.Text, want)
	}
}
