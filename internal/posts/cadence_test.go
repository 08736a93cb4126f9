package posts

import (
	"slices"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func TestCadenceDueAfter(t *testing.T) {
	torontoFri := &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9, TimeZone: "America/Toronto"}
	torontoSun2 := &Cadence{Every: EveryWeek, Weekday: time.Sunday, Hour: 2, TimeZone: "America/Toronto"}
	parisFri := &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9, TimeZone: "Europe/Paris"}
	parisSun2 := &Cadence{Every: EveryWeek, Weekday: time.Sunday, Hour: 2, TimeZone: "Europe/Paris"}
	biweekly := &Cadence{Every: EveryTwoWeeks, Weekday: time.Friday, Hour: 9, TimeZone: "America/Toronto"}
	monthly := &Cadence{Every: EveryMonth, Weekday: time.Monday, Hour: 10, TimeZone: "Europe/Paris"}
	monthlyUTC := &Cadence{Every: EveryMonth, Weekday: time.Friday, Hour: 9}
	weeklyUTC := &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9}

	tests := []struct {
		name string
		c    *Cadence
		last string
		want string // "" = zero time
	}{
		// Toronto leaves daylight-saving time on Sunday 2026-11-01: Friday
		// 09:00 is 13:00Z before and 14:00Z after.
		{"TorontoOnTimeBeforeDSTEnd", torontoFri, "2026-10-23T13:00:00Z", "2026-10-30T13:00:00Z"},
		{"TorontoOnTimeAcrossDSTEnd", torontoFri, "2026-10-30T13:00:00Z", "2026-11-06T14:00:00Z"},
		{"TorontoJustAfterDue", torontoFri, "2026-10-30T13:00:01Z", "2026-11-06T14:00:00Z"},
		{"TorontoEarlySameMorning", torontoFri, "2026-10-30T12:30:00Z", "2026-11-06T14:00:00Z"},
		{"TorontoDayEarly", torontoFri, "2026-10-29T15:00:00Z", "2026-11-06T14:00:00Z"},
		{"TorontoLateMonday", torontoFri, "2026-11-02T15:00:00Z", "2026-11-06T14:00:00Z"},
		{"TorontoTuesdayEveningCoversNextFriday", torontoFri, "2026-11-04T02:00:00Z", "2026-11-13T14:00:00Z"},
		{"TorontoSkippedHourDueWhenGapEnds", torontoSun2, "2026-03-01T07:00:00Z", "2026-03-08T07:00:00Z"},
		{"TorontoAfterGap", torontoSun2, "2026-03-08T07:00:00Z", "2026-03-15T06:00:00Z"},
		// Paris enters summer time on Sunday 2026-03-29 (02:00 CET becomes
		// 03:00 CEST) and leaves it on 2026-10-25 (03:00 CEST becomes 02:00
		// CET, so 02:00 happens twice).
		{"ParisBeforeDSTStart", parisFri, "2026-03-20T08:00:00Z", "2026-03-27T08:00:00Z"},
		{"ParisAcrossDSTStart", parisFri, "2026-03-27T08:00:00Z", "2026-04-03T07:00:00Z"},
		{"ParisSkippedHourDueWhenGapEnds", parisSun2, "2026-03-22T01:00:00Z", "2026-03-29T01:00:00Z"},
		{"ParisAfterGap", parisSun2, "2026-03-29T01:00:00Z", "2026-04-05T00:00:00Z"},
		{"ParisRepeatedHourFirstOccurrence", parisSun2, "2026-10-18T00:00:00Z", "2026-10-25T00:00:00Z"},
		{"ParisAfterRepeatedHour", parisSun2, "2026-10-25T00:00:00Z", "2026-11-01T01:00:00Z"},
		{"BiweeklyOnTime", biweekly, "2026-10-23T13:00:00Z", "2026-11-06T14:00:00Z"},
		{"BiweeklyEarly", biweekly, "2026-10-30T12:30:00Z", "2026-11-13T14:00:00Z"},
		{"BiweeklyLateMonday", biweekly, "2026-10-26T14:00:00Z", "2026-11-06T14:00:00Z"},
		{"MonthlyOnTime", monthly, "2026-03-02T09:00:00Z", "2026-04-06T08:00:00Z"},
		{"MonthlyEarly", monthly, "2026-02-27T12:00:00Z", "2026-04-06T08:00:00Z"},
		{"MonthlyMidMonthCoversPrevious", monthly, "2026-03-20T12:00:00Z", "2026-04-06T08:00:00Z"},
		{"MonthlyLateMonthCoversNext", monthly, "2026-03-25T12:00:00Z", "2026-05-04T08:00:00Z"},
		{"MonthlyYearEnd", monthlyUTC, "2026-12-04T09:00:00Z", "2027-01-01T09:00:00Z"},
		{"UTCWhenNoZone", weeklyUTC, "2025-03-10T09:00:00Z", "2025-03-14T09:00:00Z"},
		{"Nil", nil, "2025-03-10T09:00:00Z", ""},
		{"UnknownEvery", &Cadence{Every: "daily", Hour: 9}, "2025-03-10T09:00:00Z", ""},
		{"BadWeekday", &Cadence{Every: EveryWeek, Weekday: 7, Hour: 9}, "2025-03-10T09:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.DueAfter(utc(tt.last))
			if tt.want == "" {
				if !got.IsZero() {
					t.Fatalf("DueAfter = %v, want zero", got)
				}
				return
			}
			if want := utc(tt.want); !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("DueAfter(%s) = %v, want %v", tt.last, got, want)
			}
		})
	}
}

// Over two years of "last" times, every 5h17m, each due moment is on the
// weekday and hour, within the documented distance of last, and the
// chain of missed moments that lastMissed jumps along is the one DueAfter
// steps along.
func TestCadenceProperties(t *testing.T) {
	type bounds struct{ min, max time.Duration }
	day := 24 * time.Hour
	for _, tt := range []struct {
		name string
		c    *Cadence
		b    bounds // due - last is in (min, max]
	}{
		{"WeekToronto", &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9, TimeZone: "America/Toronto"}, bounds{84 * time.Hour, 10*day + 12*time.Hour + time.Hour}},
		{"TwoWeeksParis", &Cadence{Every: EveryTwoWeeks, Weekday: time.Monday, Hour: 0, TimeZone: "Europe/Paris"}, bounds{10*day + 11*time.Hour, 17*day + 12*time.Hour + 2*time.Hour}},
		{"MonthTokyo", &Cadence{Every: EveryMonth, Weekday: time.Wednesday, Hour: 23, TimeZone: "Asia/Tokyo"}, bounds{15 * day, 15*day + 35*day}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoc(t, tt.c.TimeZone)
			start := utc("2025-06-01T00:00:00Z")
			for last := start; last.Before(start.AddDate(2, 0, 0)); last = last.Add(5*time.Hour + 17*time.Minute) {
				due := tt.c.DueAfter(last)
				l := due.In(loc)
				if l.Weekday() != tt.c.Weekday || l.Hour() != tt.c.Hour || l.Minute() != 0 {
					t.Fatalf("DueAfter(%v) = %v, not %v at %d:00", last, l, tt.c.Weekday, tt.c.Hour)
				}
				if d := due.Sub(last); d <= tt.b.min || d > tt.b.max {
					t.Fatalf("DueAfter(%v) = %v, %v later; want in (%v, %v]", last, due, d, tt.b.min, tt.b.max)
				}
				if tt.c.Every == EveryMonth && l.Day() > 7 {
					t.Fatalf("DueAfter(%v) = %v, not the first %v of the month", last, l, tt.c.Weekday)
				}
			}
			first := tt.c.DueAfter(start)
			var chain []time.Time
			for d := first; d.Before(start.AddDate(3, 0, 0)); d = tt.c.DueAfter(d) {
				chain = append(chain, d)
			}
			for now := first.Add(-time.Hour); now.Before(start.AddDate(3, 0, 0)); now = now.Add(61*time.Hour + 7*time.Minute) {
				want := time.Time{}
				for _, d := range chain {
					if !d.After(now) {
						want = d
					}
				}
				if got := tt.c.lastMissed(first, now); !got.Equal(want) {
					t.Fatalf("lastMissed(%v, %v) = %v, want %v", first, now, got, want)
				}
			}
		})
	}
}

func TestProjectOverdue(t *testing.T) {
	weekly := &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9}
	due := utc("2025-03-14T09:00:00Z") // t0 is Monday 2025-03-10 09:00Z
	tests := []struct {
		name    string
		p       Project
		now     time.Time
		nextDue time.Time
		want    bool
	}{
		{"NoCadence", Project{CreatedAt: t0}, due.AddDate(1, 0, 0), time.Time{}, false},
		{"FromCreatedBefore", Project{CreatedAt: t0, Cadence: weekly}, due.Add(-time.Nanosecond), due, false},
		{"FromCreatedAtDue", Project{CreatedAt: t0, Cadence: weekly}, due, due, true},
		{"FromCreatedLongAfter", Project{CreatedAt: t0, Cadence: weekly}, due.AddDate(0, 2, 0), due, true},
		{"FromHealthAt", Project{CreatedAt: t0, HealthAt: due.Add(time.Hour), Health: OnTrack, Cadence: weekly}, due.AddDate(0, 0, 6), due.AddDate(0, 0, 7), false},
		{"FromHealthAtMissed", Project{CreatedAt: t0, HealthAt: due.Add(time.Hour), Health: OnTrack, Cadence: weekly}, due.AddDate(0, 0, 7), due.AddDate(0, 0, 7), true},
		{"ArchivedNever", Project{CreatedAt: t0, Cadence: weekly, Archived: true}, due.AddDate(1, 0, 0), due, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.NextDue(); !got.Equal(tt.nextDue) {
				t.Fatalf("NextDue = %v, want %v", got, tt.nextDue)
			}
			if got := tt.p.Overdue(tt.now); got != tt.want {
				t.Fatalf("Overdue(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestSetCadence(t *testing.T) {
	good := &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9, TimeZone: "Europe/Paris"}
	t.Run("Permissions", func(t *testing.T) {
		tests := []struct {
			name  string
			actor access.Actor
			vis   access.Visibility
			code  apperr.Code
		}{
			{"Owner", owner, access.Private, ""},
			{"Admin", admin, access.Private, ""},
			{"ErrMember", member, access.Private, apperr.Forbidden},
			{"ErrViewer", viewer, access.Private, apperr.Forbidden},
			{"ErrOutsiderPrivate", outsider, access.Private, apperr.NotFound},
			{"ErrOutsiderPublic", outsider, access.Public, apperr.Forbidden},
			{"ErrAnonymousPublic", anon, access.Public, apperr.Unauthorized},
			{"ErrAnonymousInternal", anon, access.Internal, apperr.NotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t)
				f.project("alpha", tt.vis)
				err := f.s.SetCadence(tt.actor, "alpha", good)
				pv, perr := f.s.Project(owner, "alpha")
				must(t, perr)
				if tt.code != "" {
					wantCode(t, err, tt.code)
					if pv.Cadence != nil {
						t.Fatalf("refused SetCadence stored %+v", pv.Cadence)
					}
					return
				}
				must(t, err)
				if pv.Cadence == nil || *pv.Cadence != *good {
					t.Fatalf("Cadence = %+v", pv.Cadence)
				}
			})
		}
	})
	t.Run("Validation", func(t *testing.T) {
		tests := []struct {
			name string
			c    Cadence
		}{
			{"ErrEvery", Cadence{Every: "daily", Weekday: time.Friday, Hour: 9}},
			{"ErrEmptyEvery", Cadence{Weekday: time.Friday, Hour: 9}},
			{"ErrWeekdayHigh", Cadence{Every: EveryWeek, Weekday: 7, Hour: 9}},
			{"ErrWeekdayNegative", Cadence{Every: EveryWeek, Weekday: -1, Hour: 9}},
			{"ErrHourHigh", Cadence{Every: EveryWeek, Hour: 24}},
			{"ErrHourNegative", Cadence{Every: EveryMonth, Hour: -1}},
			{"ErrTimeZone", Cadence{Every: EveryWeek, Hour: 9, TimeZone: "Mars/Olympus_Mons"}},
			{"ErrLocal", Cadence{Every: EveryWeek, Hour: 9, TimeZone: "Local"}},
		}
		f := newFixture(t)
		f.project("alpha", access.Internal)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantField(t, f.s.SetCadence(owner, "alpha", &tt.c), apperr.Invalid, "cadence")
			})
		}
	})
	t.Run("EventsAndClear", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		head := f.db.Head()
		must(t, f.s.SetCadence(owner, "alpha", &Cadence{Every: EveryMonth, Weekday: time.Monday, Hour: 10, TimeZone: " UTC "}))
		must(t, f.s.SetCadence(owner, "alpha", &Cadence{Every: EveryMonth, Weekday: time.Monday, Hour: 10, TimeZone: "UTC"})) // same: no-op
		pv, err := f.s.Project(viewer, "alpha")
		must(t, err)
		if pv.Cadence == nil || pv.Cadence.TimeZone != "UTC" {
			t.Fatalf("Cadence = %+v", pv.Cadence)
		}
		must(t, f.s.SetCadence(owner, "alpha", nil))
		must(t, f.s.SetCadence(owner, "alpha", nil)) // no-op
		pv, err = f.s.Project(viewer, "alpha")
		must(t, err)
		if pv.Cadence != nil || !pv.NextDue().IsZero() {
			t.Fatalf("cleared cadence = %+v", pv.Cadence)
		}
		evs := eventsTyped(t, f.db, head, "project.cadence_set")
		if got := eventTypes(t, f.db, head); len(got) != 2 || len(evs) != 2 {
			t.Fatalf("events = %v, want two project.cadence_set", got)
		}
		if d := eventData(t, evs[0]); d["slug"] != "alpha" || d["cadence"].(map[string]any)["every"] != EveryMonth {
			t.Fatalf("first event data = %v", d)
		}
		if d := eventData(t, evs[1]); d["cadence"] != nil {
			t.Fatalf("clearing event data = %v", d)
		}
	})
}

func TestCheckOverdue(t *testing.T) {
	f := newFixture(t)
	weekly := &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9}
	alpha := f.project("alpha", access.Private)
	f.project("arch", access.Internal)
	f.project("plain", access.Internal)
	must(t, f.s.SetCadence(owner, "alpha", weekly))
	must(t, f.s.SetCadence(owner, "arch", weekly))
	must(t, f.s.SetArchived(owner, "arch", true))

	steps := []struct {
		name  string
		act   func()
		now   string
		due   string // "" = no event
		since string
	}{
		{"BeforeFirstDue", nil, "2025-03-14T08:59:59Z", "", ""},
		{"FirstMiss", nil, "2025-03-14T09:00:00Z", "2025-03-14T09:00:00Z", "2025-03-14T09:00:00Z"},
		{"ReportedOnce", nil, "2025-03-14T09:01:00Z", "", ""},
		{"StillTheSameMiss", nil, "2025-03-21T08:59:00Z", "", ""},
		{"NextMiss", nil, "2025-03-21T09:00:00Z", "2025-03-21T09:00:00Z", "2025-03-14T09:00:00Z"},
		{"UpdatePublished", func() {
			f.clk.Set(utc("2025-03-21T09:59:00Z"))
			f.post(member, "alpha", status("Week 12", AtRisk))
		}, "2025-03-22T00:00:00Z", "", ""},
		{"MissAfterUpdate", nil, "2025-03-28T09:00:00Z", "2025-03-28T09:00:00Z", "2025-03-28T09:00:00Z"},
		{"LongSilence", nil, "2026-01-01T12:00:00Z", "2025-12-26T09:00:00Z", "2025-03-28T09:00:00Z"},
		{"LongSilenceReportedOnce", nil, "2026-01-01T12:01:00Z", "", ""},
		{"UpdateDeletedFallsBack", func() {
			pv, err := f.s.Project(owner, "alpha")
			must(t, err)
			must(t, f.s.DeletePost(owner, pv.HealthPostID))
		}, "2026-01-01T12:02:00Z", "", ""}, // the same slots, already reported
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.act != nil {
				st.act()
			}
			head := f.db.Head()
			n, err := f.s.CheckOverdue(utc(st.now))
			must(t, err)
			evs := eventsTyped(t, f.db, head, "update.overdue")
			if st.due == "" {
				if n != 0 || len(evs) != 0 {
					t.Fatalf("CheckOverdue = %d, events %v; want none", n, evs)
				}
				return
			}
			if n != 1 || len(evs) != 1 {
				t.Fatalf("CheckOverdue = %d, %d events; want 1", n, len(evs))
			}
			d := eventData(t, evs[0])
			if evs[0].ProjectID != alpha.ID || evs[0].ActorID != 0 || d["slug"] != "alpha" || d["due"] != st.due || d["since"] != st.since {
				t.Fatalf("event %+v data %v, want due %s since %s", evs[0], d, st.due, st.since)
			}
			if got := eventTypes(t, f.db, head); len(got) != 1 {
				t.Fatalf("events = %v", got)
			}
		})
	}
}

func TestOverdueProjects(t *testing.T) {
	f := newFixture(t)
	f.project("pub", access.Internal)
	f.project("secret", access.Private)
	f.project("arch", access.Internal)
	f.project("fresh", access.Internal)
	f.project("none", access.Internal)
	// Created Monday 2025-03-10 09:00Z: a Friday cadence is first due on
	// 2025-03-14, a Thursday one on 2025-03-20 (Thursday the 13th is the
	// nearest slot, covered by the creation).
	must(t, f.s.SetCadence(owner, "pub", &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9}))
	must(t, f.s.SetCadence(owner, "secret", &Cadence{Every: EveryWeek, Weekday: time.Thursday, Hour: 9}))
	must(t, f.s.SetCadence(owner, "arch", &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9}))
	must(t, f.s.SetCadence(owner, "fresh", &Cadence{Every: EveryWeek, Weekday: time.Friday, Hour: 9}))
	must(t, f.s.SetArchived(owner, "arch", true))
	f.clk.Set(utc("2025-03-20T12:00:00Z"))
	f.post(member, "fresh", status("On time", OnTrack))
	now := utc("2025-03-21T10:00:00Z")

	tests := []struct {
		name  string
		actor access.Actor
		want  []string
	}{
		{"Member", viewer, []string{"pub", "secret"}},
		{"Admin", admin, []string{"pub", "secret"}},
		{"Outsider", outsider, []string{"pub"}},
		{"Anonymous", anon, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pvs, err := f.s.OverdueProjects(tt.actor, now)
			must(t, err)
			var got []string
			for _, pv := range pvs {
				got = append(got, pv.Slug)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("OverdueProjects = %v, want %v", got, tt.want)
			}
		})
	}
}
