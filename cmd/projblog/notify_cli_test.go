package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"projblog/internal/notify"
)

// TestNotifyFailuresListsWebhooks: `projblog notify failures` lists the
// webhook deliveries that gave up next to the e-mail, with the project,
// the webhook's host, the event, when, the attempts and the last error.
func TestNotifyFailuresListsWebhooks(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "user", "add", "ada@example.com", "--name", "Ada", "--data", dir)
	mustRun(t, "", "project", "add", "apollo", "--name", "Apollo", "--owner", "ada@example.com", "--data", dir)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver\non fire", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	// A webhook whose receiver is down, tried MaxAttempts times.
	func() {
		s := mustOpenDB(t, dir)
		defer s.Close()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		n, err := notify.New(s.db, s.posts, s.users, notify.Options{Now: func() time.Time { return now }, BaseURL: "http://localhost:8080"})
		if err != nil {
			t.Fatal(err)
		}
		ada := s.userByEmail(t, "ada@example.com")
		hook, err := n.AddWebhook(ada.Actor(), "apollo", down.URL+"/hook", notify.WebhookJSON, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.TestWebhook(ada.Actor(), "apollo", hook.ID); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < notify.MaxAttempts; i++ {
			if _, failed, err := n.DeliverWebhooks(context.Background()); failed != 1 || err != nil {
				t.Fatalf("attempt %d: %d failed, %v", i+1, failed, err)
			}
			now = now.Add(time.Hour)
		}
	}()

	r := mustRun(t, "", "notify", "failures", "--data", dir)
	if !strings.HasPrefix(r.stdout, "STATE") || !strings.Contains(r.stdout, "Webhook deliveries that failed (1):") {
		t.Fatalf("notify failures:\n%s", r.stdout)
	}
	var row string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "apollo ") {
			row = l
		}
	}
	host := strings.TrimPrefix(down.URL, "http://")
	for _, want := range []string{host + " (json)", "ping", "2026-11-02T09:00:00Z", fmt.Sprintf(" %d ", notify.MaxAttempts), "503", "receiver on fire"} {
		if !strings.Contains(row, want) {
			t.Errorf("the row %q lacks %q", row, want)
		}
	}

	// The daily preview of a day.
	r = mustRun(t, "", "digest", "preview", "--user", "ada@example.com", "--day", "2026-11-01", "--data", dir)
	if !strings.Contains(r.stdout, "2026-11-01 is empty") {
		t.Errorf("daily preview: %s", r.stdout)
	}
	wantFail(t, runCLI(t, "", "digest", "preview", "--user", "ada@example.com", "--day", "2026-11-01", "--week", "2026-W44", "--data", dir), 2, "not both")
	wantFail(t, runCLI(t, "", "digest", "preview", "--user", "ada@example.com", "--day", "someday", "--data", dir), 1, "someday")
}
