package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
)

// webhookSink is an HTTP receiver that keeps the bodies it accepts and
// refuses (401) a request whose X-Projblog-Signature is not the HMAC of
// its body under secret.
type webhookSink struct {
	mu     sync.Mutex
	secret string
	events []string
	bad    int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := hmac.New(sha256.New, []byte(s.secret))
	m.Write(body)
	if !hmac.Equal([]byte(r.Header.Get("X-Projblog-Signature")), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
		s.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.events = append(s.events, r.Header.Get("X-Projblog-Event"))
	w.WriteHeader(http.StatusNoContent)
}

// inputByID returns the value of the input with this id.
func inputByID(t *testing.T, body, id string) string {
	t.Helper()
	var v string
	walk(t, body, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "id") == id {
			v = attr(n, "value")
			return false
		}
		return true
	})
	return v
}

// TestWebhooksPage: an owner adds a signed JSON webhook through the
// form, reads its secret on the page, sends a test that a receiver
// checking the signature accepts, sees the delivery in the log, pauses
// and deletes it. Bad input comes back with the field marked and what
// was typed kept.
func TestWebhooksPage(t *testing.T) {
	re := newRoutesEnv(t)
	owner := re.clients["owner"]
	sink := &webhookSink{}
	rcv := httptest.NewServer(sink)
	t.Cleanup(rcv.Close)

	// The settings page links to the webhooks page.
	var linked bool
	walk(t, owner.get("/p/apollo/settings").Body, func(n *html.Node) bool {
		linked = linked || (n.Data == "a" && attr(n, "href") == "/p/apollo/webhooks")
		return !linked
	})
	if !linked {
		t.Error("the project settings do not link to the webhooks page")
	}

	res := owner.get("/p/apollo/webhooks")
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page: %d, Cache-Control %q", res.Status, res.Header.Get("Cache-Control"))
	}
	if got := texts(t, res.Body, "p", "empty"); len(got) != 1 {
		t.Errorf("empty state %q", got)
	}
	var kinds []string
	walk(t, res.Body, func(n *html.Node) bool {
		if n.Data == "input" && attr(n, "name") == "events" {
			kinds = append(kinds, attr(n, "value"))
			if _, checked := attrOK(n, "checked"); !checked {
				t.Errorf("event kind %s not checked by default", attr(n, "value"))
			}
		}
		return true
	})
	if !slices.Equal(kinds, notify.WebhookEventKinds) {
		t.Errorf("event kinds %v", kinds)
	}

	// A bad address: 422, the field marked, the typed values kept.
	res = owner.post("/p/apollo/webhooks", url.Values{"url": {"ftp://files.example.com/x"}, "format": {"json"}, "events": {"posts"}})
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad URL: %d", res.Status)
	}
	if got := texts(t, res.Body, "p", "field-error"); len(got) != 1 || !strings.Contains(got[0], "http") {
		t.Errorf("field error %q", got)
	}
	if v := inputByID(t, res.Body, "webhook-url"); v != "ftp://files.example.com/x" {
		t.Errorf("typed URL not kept: %q", v)
	}

	res = owner.post("/p/apollo/webhooks", url.Values{"url": {rcv.URL + "/hook"}, "format": {"json"}, "events": {"posts", "health"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/p/apollo/webhooks" {
		t.Fatalf("add: %d %q\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	hooks, err := re.notify.Webhooks(re.owner.Actor(), "apollo")
	if err != nil || len(hooks) != 1 {
		t.Fatalf("Webhooks = %+v, %v", hooks, err)
	}
	w := hooks[0]
	if w.Format != notify.WebhookJSON || !slices.Equal(w.Events, []string{"posts", "health"}) || w.URL != rcv.URL+"/hook" {
		t.Fatalf("stored %+v", w)
	}
	sink.mu.Lock()
	sink.secret = w.Secret
	sink.mu.Unlock()

	res = owner.get("/p/apollo/webhooks")
	if got := texts(t, res.Body, "p", "flash"); len(got) != 1 || got[0] != "Webhook added. Send a test to check it." {
		t.Errorf("flash %q", got)
	}
	if v := inputByID(t, res.Body, fmt.Sprintf("secret-%d", w.ID)); v != w.Secret || v == "" {
		t.Errorf("secret on the page %q, want %q", v, w.Secret)
	}
	if h2 := texts(t, res.Body, "h2", ""); !slices.ContainsFunc(h2, func(s string) bool { return strings.HasPrefix(s, w.Host()) }) {
		t.Errorf("headings %q do not name the host %s", h2, w.Host())
	}
	if strings.Contains(res.Body, "/hook") {
		t.Error("the page shows the URL's path")
	}

	// Send a test; the scheduler's round delivers it.
	path := fmt.Sprintf("/p/apollo/webhooks/%d", w.ID)
	if res := owner.post(path+"/test", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("test: %d", res.Status)
	}
	if sent, failed, err := re.notify.DeliverWebhooks(context.Background()); sent != 1 || failed != 0 || err != nil {
		t.Fatalf("DeliverWebhooks = %d, %d, %v", sent, failed, err)
	}
	if !slices.Equal(sink.events, []string{"ping"}) || sink.bad != 0 {
		t.Fatalf("receiver got %v, %d refused", sink.events, sink.bad)
	}
	res = owner.get("/p/apollo/webhooks")
	var rows [][]string
	walk(t, res.Body, func(n *html.Node) bool {
		if n.Data == "tr" && hasClass(n, "outcome-delivered") {
			var cells []string
			for td := n.FirstChild; td != nil; td = td.NextSibling {
				if td.Data == "td" {
					cells = append(cells, strings.Join(strings.Fields(textOf(td)), " "))
				}
			}
			rows = append(rows, cells)
		}
		return true
	})
	if len(rows) != 1 || rows[0][1] != "ping" || rows[0][2] != "1" || rows[0][3] != "204 delivered" {
		t.Errorf("log rows %q", rows)
	}

	// Pause, then delete.
	if res := owner.post(path+"/active", url.Values{"active": {"0"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("pause: %d", res.Status)
	}
	if hooks, _ := re.notify.Webhooks(re.owner.Actor(), "apollo"); hooks[0].Active {
		t.Error("still active after pausing")
	}
	if res := owner.post(path+"/retry", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("retry: %d", res.Status)
	}
	if res := owner.post(path+"/delete", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.Status)
	}
	if hooks, _ := re.notify.Webhooks(re.owner.Actor(), "apollo"); len(hooks) != 0 {
		t.Errorf("webhooks after delete: %+v", hooks)
	}
	if res := owner.post(path+"/delete", nil); res.Status != http.StatusNotFound {
		t.Errorf("deleting again: %d", res.Status)
	}
	if res := owner.post("/p/apollo/webhooks/nope/test", nil); res.Status != http.StatusNotFound {
		t.Errorf("a bad id: %d", res.Status)
	}
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// TestWebhooksAccess: readers who may not manage the project get 403,
// those who may not read it 404, for the page and every form; the
// admin manages any project; a form without its CSRF token is refused.
func TestWebhooksAccess(t *testing.T) {
	re := newRoutesEnv(t)
	re.project(re.owner, "vault", access.Private)
	w, err := re.notify.AddWebhook(re.owner.Actor(), "vault", "https://hooks.example.com/services/T0/B0/secret", notify.WebhookSlack, nil)
	if err != nil {
		t.Fatal(err)
	}
	outsider := re.client().login(re.user("out@example.com", "Otto Outsider", false).Email)
	vault := fmt.Sprintf("/p/vault/webhooks/%d", w.ID)
	apollo := fmt.Sprintf("/p/apollo/webhooks/%d", w.ID)
	cases := []struct {
		reader string
		c      *client
		base   string // the project's page
		hook   string // a webhook's forms
		want   int
	}{
		{"member of apollo", re.clients["member"], "/p/apollo/webhooks", apollo, http.StatusForbidden},
		{"outsider of internal apollo", outsider, "/p/apollo/webhooks", apollo, http.StatusForbidden},
		{"member, not in private vault", re.clients["member"], "/p/vault/webhooks", vault, http.StatusNotFound},
		{"outsider of private vault", outsider, "/p/vault/webhooks", vault, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.reader, func(t *testing.T) {
			if res := c.c.get(c.base); res.Status != c.want {
				t.Errorf("GET %s: %d, want %d", c.base, res.Status, c.want)
			}
			if res := c.c.post(c.base, url.Values{"url": {"https://evil.example.com/"}, "format": {"json"}}); res.Status != c.want {
				t.Errorf("POST %s: %d, want %d", c.base, res.Status, c.want)
			}
			for _, action := range []string{"/test", "/active", "/retry", "/delete"} {
				if res := c.c.post(c.hook+action, nil); res.Status != c.want {
					t.Errorf("POST %s: %d, want %d", c.hook+action, res.Status, c.want)
				}
			}
		})
	}
	if res := re.clients["anonymous"].get("/p/vault/webhooks"); res.Status != http.StatusSeeOther ||
		res.Header.Get("Location") != "/login?next=%2Fp%2Fvault%2Fwebhooks" {
		t.Errorf("anonymous: %d %q", res.Status, res.Header.Get("Location"))
	}
	// Without the CSRF token, even the owner changes nothing.
	if res := re.clients["owner"].postRaw(vault+"/delete", url.Values{}); res.Status != http.StatusForbidden {
		t.Errorf("delete without a CSRF token: %d", res.Status)
	}
	for _, a := range []*client{re.clients["owner"], re.clients["admin"]} {
		if hooks, err := re.notify.Webhooks(re.owner.Actor(), "vault"); err != nil || len(hooks) != 1 || hooks[0].Pending != 0 || !hooks[0].Active {
			t.Fatalf("the refused requests changed the webhooks: %+v, %v", hooks, err)
		}
		res := a.get("/p/vault/webhooks")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "hooks.example.com") || strings.Contains(res.Body, "/services/") {
			t.Errorf("page for an owner or admin: %d", res.Status)
		}
	}
	if res := re.clients["admin"].post(vault+"/delete", nil); res.Status != http.StatusSeeOther {
		t.Errorf("admin delete: %d", res.Status)
	}
	if _, err := re.notify.WebhookLog(re.owner.Actor(), "vault", w.ID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the webhook outlived the admin's delete: %v", err)
	}
}
