package notify_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
)

// TestDailyWindow: a daily window runs from the digest hour on one local
// day to the same hour on the next, 23 or 25 hours across a change of
// daylight-saving time, named by the local date of its start.
func TestDailyWindow(t *testing.T) {
	toronto := mustZone(t, "America/Toronto")
	paris := mustZone(t, "Europe/Paris")
	auckland := mustZone(t, "Pacific/Auckland")
	la := mustZone(t, "America/Los_Angeles")
	d := func(loc *time.Location, y int, m time.Month, day, h, min int) time.Time {
		return time.Date(y, m, day, h, min, 0, 0, loc)
	}
	for _, c := range []struct {
		name       string
		now        time.Time
		loc        *time.Location
		hour       int
		start, end time.Time
		hours      float64
		label      string
	}{
		{"UTCMidDay", d(time.UTC, 2026, 11, 25, 12, 0), time.UTC, 8,
			d(time.UTC, 2026, 11, 24, 8, 0), d(time.UTC, 2026, 11, 25, 8, 0), 24, "2026-11-24"},
		{"AtTheHour", d(time.UTC, 2026, 11, 25, 8, 0), time.UTC, 8,
			d(time.UTC, 2026, 11, 24, 8, 0), d(time.UTC, 2026, 11, 25, 8, 0), 24, "2026-11-24"},
		{"JustBeforeTheHour", d(time.UTC, 2026, 11, 25, 8, 0).Add(-time.Nanosecond), time.UTC, 8,
			d(time.UTC, 2026, 11, 23, 8, 0), d(time.UTC, 2026, 11, 24, 8, 0), 24, "2026-11-23"},
		{"NilZoneIsUTC", d(time.UTC, 2026, 11, 25, 12, 0), nil, 8,
			d(time.UTC, 2026, 11, 24, 8, 0), d(time.UTC, 2026, 11, 25, 8, 0), 24, "2026-11-24"},
		// Paris enters summer time on Sunday 2026-03-29 (02:00 -> 03:00):
		// the day that holds the change has 23 hours.
		{"ParisShortDay", d(paris, 2026, 3, 29, 9, 0), paris, 8,
			d(paris, 2026, 3, 28, 8, 0), d(paris, 2026, 3, 29, 8, 0), 23, "2026-03-28"},
		{"ParisDayAfter", d(paris, 2026, 3, 30, 9, 0), paris, 8,
			d(paris, 2026, 3, 29, 8, 0), d(paris, 2026, 3, 30, 8, 0), 24, "2026-03-29"},
		// A digest hour that does not exist that day comes when the gap ends.
		{"ParisSkippedHour", d(paris, 2026, 3, 29, 12, 0), paris, 2,
			d(paris, 2026, 3, 28, 2, 0), d(paris, 2026, 3, 29, 3, 0), 24, "2026-03-28"},
		{"ParisAfterSkippedHour", d(paris, 2026, 3, 30, 12, 0), paris, 2,
			d(paris, 2026, 3, 29, 3, 0), d(paris, 2026, 3, 30, 2, 0), 23, "2026-03-29"},
		// Paris leaves summer time on Sunday 2026-10-25: 25 hours.
		{"ParisLongDay", d(paris, 2026, 10, 25, 8, 0), paris, 8,
			d(paris, 2026, 10, 24, 8, 0), d(paris, 2026, 10, 25, 8, 0), 25, "2026-10-24"},
		// 02:00 happens twice on 2026-10-25 and counts at its first
		// occurrence (CEST).
		{"ParisRepeatedHour", d(paris, 2026, 10, 25, 12, 0), paris, 2,
			time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), 24, "2026-10-24"},
		{"ParisAfterRepeatedHour", d(paris, 2026, 10, 26, 12, 0), paris, 2,
			time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 1, 0, 0, 0, time.UTC), 25, "2026-10-25"},
		// Toronto leaves daylight-saving time on Sunday 2026-11-01.
		{"TorontoLongDay", d(toronto, 2026, 11, 1, 8, 30), toronto, 8,
			d(toronto, 2026, 10, 31, 8, 0), d(toronto, 2026, 11, 1, 8, 0), 25, "2026-10-31"},
		{"TorontoShortDay", d(toronto, 2026, 3, 8, 23, 0), toronto, 8,
			d(toronto, 2026, 3, 7, 8, 0), d(toronto, 2026, 3, 8, 8, 0), 23, "2026-03-07"},
		// The local date decides: 07:30Z is still the evening before in
		// Los Angeles and already the evening in Auckland.
		{"LosAngelesLocalDate", time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), la, 8,
			d(la, 2026, 11, 21, 8, 0), d(la, 2026, 11, 22, 8, 0), 24, "2026-11-21"},
		{"AucklandLocalDate", time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), auckland, 8,
			d(auckland, 2026, 11, 22, 8, 0), d(auckland, 2026, 11, 23, 8, 0), 24, "2026-11-22"},
		{"MonthAndYearBoundary", d(time.UTC, 2027, 1, 1, 9, 0), time.UTC, 8,
			d(time.UTC, 2026, 12, 31, 8, 0), d(time.UTC, 2027, 1, 1, 8, 0), 24, "2026-12-31"},
		{"HourClamped", d(time.UTC, 2026, 11, 25, 23, 30), time.UTC, 99,
			d(time.UTC, 2026, 11, 24, 23, 0), d(time.UTC, 2026, 11, 25, 23, 0), 24, "2026-11-24"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := notify.DailyWindow(c.now, c.loc, c.hour)
			if !w.Start.Equal(c.start) || !w.End.Equal(c.end) || w.Label != c.label || !w.Daily {
				t.Fatalf("window %v – %v %q daily=%v, want %v – %v %q", w.Start, w.End, w.Label, w.Daily, c.start, c.end, c.label)
			}
			if h := w.End.Sub(w.Start).Hours(); h != c.hours {
				t.Errorf("%v hours, want %v", h, c.hours)
			}
			if w.End.After(c.now) {
				t.Errorf("the window ends after now")
			}
			back, err := notify.DayWindowForLabel(w.Label, c.loc, c.hour)
			if err != nil || !back.Start.Equal(w.Start) || !back.End.Equal(w.End) || back.Label != w.Label || !back.Daily {
				t.Errorf("DayWindowForLabel(%q) = %+v, %v", w.Label, back, err)
			}
			prev := w.Previous()
			if !prev.End.Equal(w.Start) || !prev.Daily {
				t.Errorf("Previous %v – %v does not end where %v starts", prev.Start, prev.End, w.Start)
			}
			if next, err := notify.DayWindowForLabel(prev.Next(), c.loc, c.hour); err != nil || !next.Start.Equal(w.Start) {
				t.Errorf("Previous().Next() = %q: %+v, %v", prev.Next(), next, err)
			}
		})
	}
	t.Run("ErrBadLabel", func(t *testing.T) {
		for _, label := range []string{"", "2026-W48", "2026-02-30", "yesterday"} {
			_, err := notify.DayWindowForLabel(label, time.UTC, 8)
			var e *apperr.Error
			if !apperr.Is(err, apperr.Invalid) || !errorsAs(err, &e) || e.Field != "day" {
				t.Errorf("%q: %v, want Invalid on field day", label, err)
			}
		}
	})
}

// TestDailyDigestOncePerWindow: a person with subscriptions set to Daily
// gets one daily digest per local day at their hour (a 25-hour day
// included), never twice across repeated runs and a restart between
// enqueue and delivery; an empty one is not sent; the weekly digest does
// not repeat what is daily; people without daily subscriptions get no
// daily digest.
func TestDailyDigestOncePerWindow(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "Projblog <projblog@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	ctx := context.Background()
	e.clock.Set(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	olive := e.newUser("olive@example.com", "Olive Owner", "", "en")
	paula := e.newUser("paula@example.com", "Paula Daily", "Europe/Paris", "en")
	uma := e.newUser("uma@example.com", "Uma Weekly", "", "en")
	if _, err := e.posts.CreateProject(olive.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Internal}, 0); err != nil {
		t.Fatal(err)
	}
	for _, u := range []uint64{paula.ID, uma.ID} {
		if err := e.posts.SetMember(olive.Actor(), "apollo", u, access.Member); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.n.SetProjectMode(paula.Actor(), "apollo", notify.Daily); err != nil {
		t.Fatal(err)
	}
	run := func(want int) {
		t.Helper()
		n, err := e.n.RunDigests(ctx)
		if err != nil || n != want {
			t.Fatalf("at %v: RunDigests = %d, %v; want %d", e.clock.Now(), n, err, want)
		}
	}
	// Paris leaves summer time on Sunday 25 October 2026: Paula's day from
	// Saturday 08:00 CEST (06:00Z) to Sunday 08:00 CET (07:00Z) has 25
	// hours. The second post is in its last hour.
	e.clock.Set(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC))
	first, err := e.posts.CreatePost(olive.Actor(), "apollo", posts.PostInput{Title: "Saturday news", Body: "One."})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 10, 25, 6, 30, 0, 0, time.UTC)) // 07:30 CET
	late, err := e.posts.CreatePost(olive.Actor(), "apollo", posts.PostInput{Title: "Sunday dawn", Body: "Two."})
	if err != nil {
		t.Fatal(err)
	}

	// 07:59 CET: Paula's day has not ended; the day before was empty
	// (recorded so, not sent).
	e.clock.Set(time.Date(2026, 10, 25, 6, 59, 0, 0, time.UTC))
	run(0)
	if ok, _ := e.n.Enqueued(notify.DigestKey(paula.ID, "2026-10-23")); !ok {
		t.Error("the empty daily digest of 23 October is not recorded (it would be built every minute)")
	}
	if n := len(e.outbox()); n != 0 {
		t.Fatalf("outbox has %d messages before 08:00", n)
	}
	// 08:00 CET: her digest of Saturday 24 October.
	e.clock.Set(time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC))
	run(1)
	key := notify.DigestKey(paula.ID, "2026-10-24")
	if items := e.outbox(); len(items) != 1 || items[0].Key != key {
		t.Fatalf("outbox %+v, want %s", items, key)
	}
	// The process stops after the enqueue, before the send, and starts
	// again; the scheduler keeps running every minute.
	e.reopen()
	run(0)
	e.clock.Advance(time.Minute)
	run(0)
	if _, failed, err := e.n.DeliverDue(ctx); failed != 0 || err != nil {
		t.Fatalf("DeliverDue: %d failed, %v", failed, err)
	}
	e.reopen()
	run(0)
	msgs := sink.messages()
	if len(msgs) != 1 || msgs[0].To[0] != paula.Email {
		t.Fatalf("received %d messages, want Paula's digest", len(msgs))
	}
	m := parseMail(t, msgs[0].Data)
	if want := "Your daily digest: 1 project (24 October 2026)"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if want := "<digest." + strconv.FormatUint(paula.ID, 10) + ".2026-10-24@blog.example.com>"; m.Header.Get("Message-Id") != want {
		t.Errorf("Message-ID %q, want %q", m.Header.Get("Message-Id"), want)
	}
	text := oneLine(m.Parts["text/plain"])
	for _, want := range []string{"Daily digest", first.Title, late.Title, "from 24 October 2026, 08:00 to 25 October 2026, 08:00",
		mailBaseURL + "/digest?day=2026-10-24", "daily digest"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, m.Parts["text/plain"])
		}
	}
	if m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", m.Header.Get("List-Unsubscribe-Post"))
	}
	if ok, _ := e.n.Enqueued(notify.DigestKey(uma.ID, "2026-10-24")); ok {
		t.Error("Uma, who follows nothing daily, got a daily digest")
	}

	// Sunday was quiet: Monday's run sends no daily digest; the weekly
	// digest goes to Uma and Olive (the posts' author), not to Paula, who
	// reads Apollo daily.
	e.clock.Set(time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC)) // 09:00 CET
	run(2)
	if ok, _ := e.n.Enqueued(notify.DigestKey(paula.ID, "2026-10-25")); !ok {
		t.Error("Paula's empty Sunday is not recorded")
	}
	if ok, _ := e.n.Enqueued(notify.DigestKey(uma.ID, "2026-W43")); !ok {
		t.Error("Uma's weekly digest is not enqueued")
	}
	for _, it := range e.outbox() {
		if it.To == paula.Email {
			t.Errorf("Paula got %q: the weekly digest repeats what she reads daily", it.Subject)
		}
	}
}

func errorsAs(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	if ok {
		*target = e
	}
	return ok
}
