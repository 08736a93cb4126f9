package posts

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // cadences load their time zone the same way on every host

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Update cadence.
//
// A project's owners may say how often they expect a status update
// (Project.Cadence): every week, every two weeks or every month, due on a
// weekday at an hour, in a time zone. Due moments are computed on the
// local calendar of that zone, so a change of daylight-saving time keeps
// the due hour: Friday 09:00 in America/Toronto is 13:00Z before
// 2026-11-01 and 14:00Z after.
//
// The due moments ("slots") are:
//
//   - week: every Weekday at Hour:00 local;
//   - 2weeks: the same weekly slots, every other one, counted from the
//     project's last status update (there is no fixed phase);
//   - month: the first Weekday of each calendar month at Hour:00 local.
//
// An update covers the slot nearest to it (for month: the next slot when
// that is at most 15 days ahead, else the one before), and the next one is
// due one period after that slot (Cadence.DueAfter). So an update posted a
// little early (Thursday, or Friday at 08:30, for Friday 09:00) counts for
// that Friday and the next is due a week later, and one posted late
// (Monday) still counts for the Friday before, so the next is due that
// same week.
// Precisely, with last the time of the last status update:
//
//   - week: the first slot strictly after last + 3½ days;
//   - 2weeks: seven local days after the first weekly slot strictly after
//     last + 3½ days;
//   - month: the first monthly slot strictly after last + 15 days.
//
// An hour that does not exist on a day (skipped by a switch to summer
// time) is due when the gap ends (02:00 becomes 03:00 in Europe/Paris on
// 2026-03-29); an hour that happens twice is due at its first occurrence.
//
// Project.NextDue is DueAfter of the last status update's HealthAt (of
// CreatedAt before any), and the project is overdue from then until a
// newer status update is published; an archived project is never overdue.
// While no update comes, later slots pass too (each DueAfter the previous
// one): CheckOverdue reports each missed slot once, as an update.overdue
// event, remembering the last one reported in projectRec.OverdueSince.
//
// Events:
//
//	project.cadence_set {"slug","cadence"} (cadence null when cleared)
//	update.overdue      {"slug","due","since"}: due is the missed slot
//	                    being reported, since the first missed one (NextDue),
//	                    both RFC 3339 in UTC; ActorID is 0.

// The values of Cadence.Every.
const (
	EveryWeek     = "week"
	EveryTwoWeeks = "2weeks"
	EveryMonth    = "month"
)

// The leads of the nearest-slot rule: half a period.
const (
	weekLead  = 84 * time.Hour      // 3½ days
	monthLead = 15 * 24 * time.Hour // about half a month
)

// cadenceZones caches loaded time zones: CheckOverdue computes due times for
// every project every minute, and LoadLocation reads the zone database
// each time.
var cadenceZones sync.Map // string -> *time.Location

// location returns the cadence's time zone; UTC when it is empty or does
// not load (SetCadence refuses such a zone, so only a zone database that
// lost a name can make that happen).
func (c *Cadence) location() *time.Location {
	if c.TimeZone == "" {
		return time.UTC
	}
	if loc, ok := cadenceZones.Load(c.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	cadenceZones.Store(c.TimeZone, loc)
	return loc
}

// cleanCadence validates a cadence form and returns it normalised (the
// zone name trimmed); nil stays nil. Errors are Invalid with Field
// "cadence".
func cleanCadence(c *Cadence) (*Cadence, error) {
	if c == nil {
		return nil, nil
	}
	out := *c
	switch out.Every {
	case EveryWeek, EveryTwoWeeks, EveryMonth:
	default:
		return nil, apperr.FieldErr("cadence", "The cadence must be every week, every two weeks or every month.")
	}
	if out.Weekday < time.Sunday || out.Weekday > time.Saturday {
		return nil, apperr.FieldErr("cadence", "Please choose the weekday the update is due.")
	}
	if out.Hour < 0 || out.Hour > 23 {
		return nil, apperr.FieldErr("cadence", "The hour must be between 0 and 23.")
	}
	out.TimeZone = strings.TrimSpace(out.TimeZone)
	if out.TimeZone == "Local" {
		return nil, apperr.FieldErr("cadence", "Choose a time zone by name, like Europe/Paris.")
	}
	if out.TimeZone != "" {
		if _, err := time.LoadLocation(out.TimeZone); err != nil {
			return nil, apperr.FieldErr("cadence", "Unknown time zone %q; use a name like Europe/Paris.", out.TimeZone)
		}
	}
	return &out, nil
}

// slot is Hour:00 on the given local day (d may overflow the month, as in
// time.Date). A skipped hour is due when the gap ends; an hour that
// happens twice, at its first occurrence.
func (c *Cadence) slot(loc *time.Location, y int, m time.Month, d int) time.Time {
	t := time.Date(y, m, d, c.Hour, 0, 0, 0, loc)
	if t.Hour() != c.Hour {
		// In a gap time.Date may answer either side of it; the first
		// existing later hour of the day is where the gap ends.
		for h := c.Hour + 1; h < 24; h++ {
			if u := time.Date(y, m, d, h, 0, 0, 0, loc); u.Hour() == h {
				return u
			}
		}
		return t
	}
	if e := t.Add(-time.Hour); e.Hour() == c.Hour {
		return e
	}
	return t
}

// weekSlotAfter returns the first weekly slot strictly after t.
func (c *Cadence) weekSlotAfter(loc *time.Location, t time.Time) time.Time {
	y, m, d := t.In(loc).Date()
	for i := 0; ; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC) // the calendar day alone
		if day.Weekday() != c.Weekday {
			continue
		}
		if s := c.slot(loc, y, m, d+i); s.After(t) {
			return s
		}
	}
}

// monthSlot returns the slot of the month m (which may overflow) of y.
func (c *Cadence) monthSlot(loc *time.Location, y int, m time.Month) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	off := (int(c.Weekday) - int(first.Weekday()) + 7) % 7
	return c.slot(loc, first.Year(), first.Month(), 1+off)
}

// monthSlotAfter returns the first monthly slot strictly after t.
func (c *Cadence) monthSlotAfter(loc *time.Location, t time.Time) time.Time {
	y, m, _ := t.In(loc).Date()
	for i := 0; ; i++ {
		if s := c.monthSlot(loc, y, m+time.Month(i)); s.After(t) {
			return s
		}
	}
}

// addDays returns the slot n local days after the day of s.
func (c *Cadence) addDays(loc *time.Location, s time.Time, n int) time.Time {
	y, m, d := s.In(loc).Date()
	return c.slot(loc, y, m, d+n)
}

// DueAfter returns when the next status update is due if the last one was
// published at last: one period after the slot nearest to last (see the
// rules at the top of cadence.go), always strictly after last, in UTC.
// A nil cadence, an unknown Every or an out-of-range Weekday or Hour gives
// the zero time.
func (c *Cadence) DueAfter(last time.Time) time.Time {
	if c == nil || c.Weekday < time.Sunday || c.Weekday > time.Saturday || c.Hour < 0 || c.Hour > 23 {
		return time.Time{}
	}
	loc := c.location()
	var due time.Time
	switch c.Every {
	case EveryWeek:
		due = c.weekSlotAfter(loc, last.Add(weekLead))
	case EveryTwoWeeks:
		due = c.addDays(loc, c.weekSlotAfter(loc, last.Add(weekLead)), 7)
	case EveryMonth:
		due = c.monthSlotAfter(loc, last.Add(monthLead))
	default:
		return time.Time{}
	}
	return due.UTC()
}

// lastMissed returns the latest slot at or before now in the chain first,
// DueAfter(first), DueAfter(DueAfter(first)), ... (zero when now is before
// first). It jumps close to now first, so its cost does not grow with the
// time since the last update.
func (c *Cadence) lastMissed(first, now time.Time) time.Time {
	if now.Before(first) {
		return time.Time{}
	}
	loc := c.location()
	d := first
	elapsed := now.Sub(first)
	switch c.Every {
	case EveryWeek:
		if n := int(elapsed/(7*24*time.Hour)) - 1; n > 0 {
			d = c.addDays(loc, first, 7*n).UTC()
		}
	case EveryTwoWeeks:
		if n := int(elapsed/(14*24*time.Hour)) - 1; n > 0 {
			d = c.addDays(loc, first, 14*n).UTC()
		}
	case EveryMonth:
		// 31 days per month undercounts, so the jump never passes now.
		if n := int(elapsed/(31*24*time.Hour)) - 1; n > 0 {
			l := first.In(loc)
			d = c.monthSlot(loc, l.Year(), l.Month()+time.Month(n)).UTC()
		}
	}
	for {
		next := c.DueAfter(d)
		if !next.After(d) || next.After(now) {
			return d
		}
		d = next
	}
}

// NextDue returns when the project's next status update is due: the
// cadence's DueAfter of the current status update's HealthAt, or of
// CreatedAt while there is none. Zero without a cadence. The moment stays
// put once passed, until a newer status update is published.
func (p *Project) NextDue() time.Time {
	if p.Cadence == nil {
		return time.Time{}
	}
	last := p.HealthAt
	if last.IsZero() {
		last = p.CreatedAt
	}
	return p.Cadence.DueAfter(last)
}

// Overdue reports whether the project's status update is overdue at now:
// it has a cadence, is not archived, and now is at or after NextDue.
func (p *Project) Overdue(now time.Time) bool {
	return p.Cadence != nil && !p.Archived && !now.Before(p.NextDue())
}

// SetCadence sets how often the project expects a status update; nil
// clears it (the project is then never overdue). It needs
// access.ManageProject. Errors: NotFound, Forbidden or Unauthorized;
// Invalid with Field "cadence" for an Every other than week, 2weeks or
// month, a weekday outside 0–6, an hour outside 0–23 or a time zone that
// does not load ("" is UTC). Setting the cadence the project has is a
// no-op. Event: project.cadence_set.
func (s *Service) SetCadence(actor access.Actor, projectSlug string, c *Cadence) error {
	c, err := cleanCadence(c)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		if err := access.Check(actor, sc.subject(), access.ManageProject); err != nil {
			return err
		}
		r := sc.proj
		if (r.Cadence == nil && c == nil) || (r.Cadence != nil && c != nil && *r.Cadence == *c) {
			return nil
		}
		r.Cadence, r.UpdatedAt = c, now
		if err := putProject(tx, r); err != nil {
			return err
		}
		return s.emit(tx, "project.cadence_set", actor, now, r.ID, 0, map[string]any{"slug": r.Slug, "cadence": c})
	})
}

// overdueReport is one update.overdue event to append.
type overdueReport struct {
	id         uint64
	due, since time.Time
}

// CheckOverdue appends an update.overdue event for every project that is
// not archived, has a cadence, and has a missed slot at or before now
// that was not reported yet: the first missed slot, then each later one
// while no status update comes. It returns how many events it appended.
// The scheduler calls it every minute. It reads every project record
// (O(projects)) in a read transaction, and opens a write transaction,
// which checks again, only when there is something to report. Safe for
// concurrent use: two callers never report the same slot twice.
func (s *Service) CheckOverdue(now time.Time) (int, error) {
	now = now.UTC()
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		reps, err := overdueReports(tx, now)
		found = len(reps) > 0
		return err
	})
	if err != nil || !found {
		return 0, err
	}
	n := 0
	err = s.update(func(tx *bbolt.Tx) error {
		n = 0
		reps, err := overdueReports(tx, now)
		if err != nil {
			return err
		}
		for _, rep := range reps {
			r, err := getProject(tx, rep.id)
			if err != nil {
				return err
			}
			r.OverdueSince = rep.due
			if err := putProject(tx, r); err != nil {
				return err
			}
			if err := s.emit(tx, "update.overdue", access.Actor{}, now, r.ID, 0, map[string]any{
				"slug":  r.Slug,
				"due":   rep.due.UTC().Format(time.RFC3339),
				"since": rep.since.UTC().Format(time.RFC3339),
			}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// overdueReports lists the projects with a missed slot not yet reported.
func overdueReports(tx *bbolt.Tx, now time.Time) ([]overdueReport, error) {
	var out []overdueReport
	err := tx.Bucket(bProjects).ForEach(func(k, v []byte) error {
		var r projectRec
		if err := json.Unmarshal(v, &r); err != nil {
			return apperr.Wrap(err, "decode project %d", store.U64(k))
		}
		if r.Archived || r.Cadence == nil {
			return nil
		}
		p := r.project()
		if !p.Overdue(now) {
			return nil
		}
		since := p.NextDue()
		due := r.Cadence.lastMissed(since, now)
		if !due.Equal(r.OverdueSince) {
			out = append(out, overdueReport{id: r.ID, due: due, since: since})
		}
		return nil
	})
	return out, err
}

// OverdueProjects returns the projects the actor may read that are not
// archived and whose status update is overdue at now, the longest overdue
// first. Like Projects, it reads every project record.
func (s *Service) OverdueProjects(actor access.Actor, now time.Time) ([]*ProjectView, error) {
	all, err := s.Projects(actor)
	if err != nil {
		return nil, err
	}
	var out []*ProjectView
	for _, pv := range all {
		if pv.Overdue(now) {
			out = append(out, pv)
		}
	}
	slices.SortFunc(out, func(a, b *ProjectView) int {
		if c := a.NextDue().Compare(b.NextDue()); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}
