package notify_test

import (
	"errors"
	"testing"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/notify"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestWeeklyWindow(t *testing.T) {
	toronto := mustZone(t, "America/Toronto")
	paris := mustZone(t, "Europe/Paris")
	tokyo := mustZone(t, "Asia/Tokyo")
	la := mustZone(t, "America/Los_Angeles")
	auckland := mustZone(t, "Pacific/Auckland")
	d := func(loc *time.Location, y int, m time.Month, day, h, min int) time.Time {
		return time.Date(y, m, day, h, min, 0, 0, loc)
	}
	for _, c := range []struct {
		name       string
		now        time.Time
		loc        *time.Location
		day        time.Weekday
		hour       int
		start, end time.Time
		hours      float64
		label      string
	}{
		{"UTCMidWeek", d(time.UTC, 2026, 11, 25, 12, 0), time.UTC, time.Monday, 8,
			d(time.UTC, 2026, 11, 16, 8, 0), d(time.UTC, 2026, 11, 23, 8, 0), 168, "2026-W47"},
		// Toronto leaves daylight-saving time on Sunday 2026-11-01.
		{"TorontoDSTEndAtBoundary", d(toronto, 2026, 11, 2, 8, 0), toronto, time.Monday, 8,
			d(toronto, 2026, 10, 26, 8, 0), d(toronto, 2026, 11, 2, 8, 0), 169, "2026-W44"},
		{"TorontoDSTEndJustBefore", d(toronto, 2026, 11, 2, 8, 0).Add(-time.Nanosecond), toronto, time.Monday, 8,
			d(toronto, 2026, 10, 19, 8, 0), d(toronto, 2026, 10, 26, 8, 0), 168, "2026-W43"},
		{"TorontoWeekAfter", d(toronto, 2026, 11, 9, 9, 0), toronto, time.Monday, 8,
			d(toronto, 2026, 11, 2, 8, 0), d(toronto, 2026, 11, 9, 8, 0), 168, "2026-W45"},
		// An hour that happens twice (01:00 on 2026-11-01) counts at its
		// first occurrence, in EDT.
		{"TorontoRepeatedHour", d(toronto, 2026, 11, 1, 12, 0), toronto, time.Sunday, 1,
			time.Date(2026, 10, 25, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), 168, "2026-W43"},
		{"TorontoAfterRepeatedHour", d(toronto, 2026, 11, 8, 12, 0), toronto, time.Sunday, 1,
			time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 8, 6, 0, 0, 0, time.UTC), 169, "2026-W44"},
		// Paris enters summer time on Sunday 2026-03-29 (02:00 -> 03:00).
		{"ParisDSTStart", d(paris, 2026, 3, 30, 8, 0), paris, time.Monday, 8,
			d(paris, 2026, 3, 23, 8, 0), d(paris, 2026, 3, 30, 8, 0), 167, "2026-W13"},
		{"ParisSkippedHourIsGapEnd", d(paris, 2026, 3, 29, 12, 0), paris, time.Sunday, 2,
			d(paris, 2026, 3, 22, 2, 0), d(paris, 2026, 3, 29, 3, 0), 168, "2026-W12"},
		{"ParisAfterSkippedHour", d(paris, 2026, 4, 5, 2, 0), paris, time.Sunday, 2,
			d(paris, 2026, 3, 29, 3, 0), d(paris, 2026, 4, 5, 2, 0), 167, "2026-W13"},
		// Paris leaves summer time on Sunday 2026-10-25 (03:00 -> 02:00):
		// 02:00 happens twice and counts at its first occurrence, in CEST
		// (time.Date alone would answer the second one here).
		{"ParisRepeatedHour", d(paris, 2026, 10, 25, 12, 0), paris, time.Sunday, 2,
			time.Date(2026, 10, 18, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), 168, "2026-W42"},
		{"ParisAfterRepeatedHour", d(paris, 2026, 11, 1, 2, 0), paris, time.Sunday, 2,
			time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC), 169, "2026-W43"},
		{"ParisBeforeOctoberChange", d(paris, 2026, 10, 26, 8, 0), paris, time.Monday, 8,
			d(paris, 2026, 10, 19, 8, 0), d(paris, 2026, 10, 26, 8, 0), 169, "2026-W43"},
		{"TokyoFridayJustBefore", d(tokyo, 2026, 11, 27, 16, 59), tokyo, time.Friday, 17,
			d(tokyo, 2026, 11, 13, 17, 0), d(tokyo, 2026, 11, 20, 17, 0), 168, "2026-W46"},
		// The local date, not the UTC one, decides: 07:30Z on Monday is
		// still Sunday evening in Los Angeles and already Monday evening
		// in Auckland.
		{"LosAngelesLocalDate", time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), la, time.Monday, 8,
			d(la, 2026, 11, 9, 8, 0), d(la, 2026, 11, 16, 8, 0), 168, "2026-W46"},
		{"AucklandLocalDate", time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), auckland, time.Monday, 8,
			d(auckland, 2026, 11, 16, 8, 0), d(auckland, 2026, 11, 23, 8, 0), 168, "2026-W47"},
		{"YearBoundary", d(time.UTC, 2027, 1, 4, 8, 0), time.UTC, time.Monday, 8,
			d(time.UTC, 2026, 12, 28, 8, 0), d(time.UTC, 2027, 1, 4, 8, 0), 168, "2026-W53"},
		{"MidnightSunday", d(time.UTC, 2026, 11, 22, 23, 59), time.UTC, time.Sunday, 0,
			d(time.UTC, 2026, 11, 15, 0, 0), d(time.UTC, 2026, 11, 22, 0, 0), 168, "2026-W46"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := notify.WeeklyWindow(c.now, c.loc, c.day, c.hour)
			if !w.Start.Equal(c.start) || !w.End.Equal(c.end) {
				t.Fatalf("window [%v, %v), want [%v, %v)", w.Start, w.End, c.start.In(c.loc), c.end.In(c.loc))
			}
			if h := w.End.Sub(w.Start).Hours(); h != c.hours {
				t.Errorf("%v hours long, want %v", h, c.hours)
			}
			if w.Label != c.label {
				t.Errorf("label %q, want %q", w.Label, c.label)
			}
			if w.End.After(c.now) || !c.now.Before(w.End.Add(7*24*time.Hour+time.Hour)) {
				t.Errorf("end %v is not the latest digest moment at or before %v", w.End, c.now)
			}
			if w.Start.Location() != c.loc || w.End.Location() != c.loc {
				t.Errorf("times in %v and %v, want %v", w.Start.Location(), w.End.Location(), c.loc)
			}
			// The window is found again by its label, and the next one
			// starts where it ends.
			back, err := notify.WindowForLabel(w.Label, c.loc, c.day, c.hour)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Start.Equal(w.Start) || !back.End.Equal(w.End) || back.Label != w.Label {
				t.Errorf("WindowForLabel(%q) = [%v, %v) %q", w.Label, back.Start, back.End, back.Label)
			}
			next := notify.WeeklyWindow(w.End.Add(8*24*time.Hour-time.Nanosecond), c.loc, c.day, c.hour)
			if !next.Start.Equal(w.End) {
				t.Errorf("the next window starts at %v, not at this one's end %v", next.Start, w.End)
			}
			if p := next.Previous(); !p.Start.Equal(w.Start) || !p.End.Equal(w.End) || p.Label != w.Label {
				t.Errorf("next.Previous() = [%v, %v) %q, want this window", p.Start, p.End, p.Label)
			}
		})
	}
}

// TestWindowChain walks a whole year of weekly windows back with Previous
// and forth with WeeklyWindow in zones with and without daylight-saving
// time, and finds each again by its label: the windows tile the time line
// and every label names exactly one.
func TestWindowChain(t *testing.T) {
	for _, c := range []struct {
		zone string
		day  time.Weekday
		hour int
	}{
		{"America/Toronto", time.Monday, 8},
		{"Europe/Paris", time.Sunday, 2},
		{"America/Toronto", time.Sunday, 1},
		{"Pacific/Auckland", time.Friday, 17},
		{"Australia/Lord_Howe", time.Sunday, 2}, // a 30-minute DST shift
		{"UTC", time.Saturday, 23},
	} {
		t.Run(c.zone, func(t *testing.T) {
			loc := mustZone(t, c.zone)
			w := notify.WeeklyWindow(time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC), loc, c.day, c.hour)
			labels := map[string]bool{}
			for range 60 {
				p := w.Previous()
				if !p.End.Equal(w.Start) {
					t.Fatalf("%s: previous window ends at %v, not at %v", w.Label, p.End, w.Start)
				}
				if h := w.End.Sub(w.Start).Hours(); h < 166.5 || h > 169.5 {
					t.Fatalf("%s: %v hours long", w.Label, h)
				}
				if l := w.End.In(loc); l.Weekday() != c.day {
					t.Fatalf("%s: ends on %v", w.Label, l.Weekday())
				}
				if labels[w.Label] {
					t.Fatalf("label %s used twice", w.Label)
				}
				labels[w.Label] = true
				again := notify.WeeklyWindow(w.End, loc, c.day, c.hour)
				back, err := notify.WindowForLabel(w.Label, loc, c.day, c.hour)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range []notify.Window{again, back} {
					if !x.Start.Equal(w.Start) || !x.End.Equal(w.End) || x.Label != w.Label {
						t.Fatalf("%s: found again as [%v, %v) %s, want [%v, %v)", w.Label, x.Start, x.End, x.Label, w.Start, w.End)
					}
				}
				w = p
			}
		})
	}
}

func TestWindowForLabel(t *testing.T) {
	toronto := mustZone(t, "America/Toronto")
	t.Run("OK", func(t *testing.T) {
		for _, c := range []struct {
			label      string
			day        time.Weekday
			start, end time.Time
		}{
			{"2026-W44", time.Monday, time.Date(2026, 10, 26, 8, 0, 0, 0, toronto), time.Date(2026, 11, 2, 8, 0, 0, 0, toronto)},
			// The Sunday of ISO week 44 is 1 November.
			{"2026-W44", time.Sunday, time.Date(2026, 11, 1, 8, 0, 0, 0, toronto), time.Date(2026, 11, 8, 8, 0, 0, 0, toronto)},
			{" 2026-w44 ", time.Monday, time.Date(2026, 10, 26, 8, 0, 0, 0, toronto), time.Date(2026, 11, 2, 8, 0, 0, 0, toronto)},
			{"2026-W53", time.Monday, time.Date(2026, 12, 28, 8, 0, 0, 0, toronto), time.Date(2027, 1, 4, 8, 0, 0, 0, toronto)},
			// Week 1 of 2026 starts on Monday 2025-12-29.
			{"2026-W01", time.Wednesday, time.Date(2025, 12, 31, 8, 0, 0, 0, toronto), time.Date(2026, 1, 7, 8, 0, 0, 0, toronto)},
		} {
			w, err := notify.WindowForLabel(c.label, toronto, c.day, 8)
			if err != nil {
				t.Fatalf("%q: %v", c.label, err)
			}
			if !w.Start.Equal(c.start) || !w.End.Equal(c.end) {
				t.Errorf("%q %v: [%v, %v), want [%v, %v)", c.label, c.day, w.Start, w.End, c.start, c.end)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, label := range []string{"", "2026", "2026-W99", "2026-W00", "2026-W54", "2025-W53", "2026W44", "2026-44",
			"2026-Wxx", "abcd-W01", "0000-W01", "-026-W01", "+026-W01", "2026-W+4", "2026-W-4", "2026-W441"} {
			_, err := notify.WindowForLabel(label, toronto, time.Monday, 8)
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != "week" {
				t.Errorf("%q: error %v, want invalid week", label, err)
			}
		}
	})
}
