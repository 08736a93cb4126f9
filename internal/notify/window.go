package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"projblog/internal/apperr"
)

// Digest windows.
//
// A weekly digest covers [Start, End): from one digest moment to the next,
// where a digest moment is the person's weekly day at their digest hour
// (hour:00), on the wall clock of their time zone. Both ends are computed
// on the local calendar, so a week with a change of daylight-saving time
// is 167 or 169 hours long, and the digest still comes at 08:00 local.
// A moment whose hour does not exist that day (skipped by a switch to
// summer time) is when the gap ends (02:00 becomes 03:00 in Europe/Paris
// on 2026-03-29); an hour that happens twice counts at its first
// occurrence. The times of a Window are in the location they were
// computed for, which Previous relies on.
//
// A window is named by the ISO week of its start ("2026-W48"), so the
// label of a person's window stays the same whatever their weekly day.

// wallClock returns hour:00 on the local day y-m-d in loc (d may overflow
// the month, as in time.Date), with the gap and repeat rules above.
func wallClock(loc *time.Location, y int, m time.Month, d, hour int) time.Time {
	t := time.Date(y, m, d, hour, 0, 0, 0, loc)
	want := time.Date(y, m, d, hour, 0, 0, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if !got.Equal(want) {
		// The wall-clock time does not exist: time.Date answered on one
		// side of the gap; its zone's bound on that side is where the
		// gap ends.
		start, end := t.ZoneBounds()
		if got.After(want) {
			return start
		}
		return end
	}
	// The same wall-clock time may have happened an offset change earlier,
	// in the zone before this one.
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		_, off := t.Zone()
		_, prevOff := start.Add(-time.Nanosecond).Zone()
		if u := t.Add(time.Duration(off-prevOff) * time.Second); u.Before(start) {
			return u
		}
	}
	return t
}

// isoLabel names the ISO week of the local date of t: "2026-W48".
func isoLabel(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// cleanDayHour brings an out-of-range weekday or hour into range (the
// weekday modulo 7, the hour clamped to 0–23) and a nil location to UTC,
// so the pure window functions never fail.
func cleanDayHour(loc *time.Location, day time.Weekday, hour int) (*time.Location, time.Weekday, int) {
	if loc == nil {
		loc = time.UTC
	}
	day = time.Weekday(((int(day) % 7) + 7) % 7)
	hour = min(max(hour, 0), 23)
	return loc, day, hour
}

// WeeklyWindow returns the most recent complete weekly window at now for
// a person in loc whose digest comes on day at hour:00: End is the latest
// such moment at or before now (now itself when it is exactly one), Start
// the same wall-clock time seven local days earlier. Label is the ISO week
// of Start in loc. Start and End are in loc. A nil loc means UTC; a
// weekday outside 0–6 is taken modulo 7 and an hour outside 0–23 is
// clamped (SaveSettings refuses both).
func WeeklyWindow(now time.Time, loc *time.Location, day time.Weekday, hour int) Window {
	loc, day, hour = cleanDayHour(loc, day, hour)
	l := now.In(loc)
	y, m, d := l.Date()
	back := (int(l.Weekday()) - int(day) + 7) % 7
	end := wallClock(loc, y, m, d-back, hour)
	if end.After(now) {
		back += 7
		end = wallClock(loc, y, m, d-back, hour)
	}
	start := wallClock(loc, y, m, d-back-7, hour)
	return Window{Start: start, End: end, Label: isoLabel(start.In(loc))}
}

// parseWeekLabel parses "2026-W48" (case and surrounding space ignored)
// into a year and an ISO week that exists in it.
func parseWeekLabel(label string) (year, week int, ok bool) {
	s := strings.ToUpper(strings.TrimSpace(label))
	if len(s) != 8 || s[4] != '-' || s[5] != 'W' {
		return 0, 0, false
	}
	year, err1 := strconv.Atoi(s[:4])
	week, err2 := strconv.Atoi(s[6:])
	if err1 != nil || err2 != nil || year < 1 || week < 1 || week > 53 || s[0] == '+' || s[6] == '+' {
		return 0, 0, false
	}
	return year, week, true
}

// WindowForLabel returns the weekly window, for a person in loc whose
// digest comes on day at hour:00, whose Start falls in the ISO week label
// ("2026-W48"), local calendar. It is the inverse of WeeklyWindow's Label.
// Errors: Invalid (Field "week") for a label that is not of that form or
// names a week its year does not have (only some years have a week 53).
// Out-of-range day and hour are treated as WeeklyWindow does.
func WindowForLabel(label string, loc *time.Location, day time.Weekday, hour int) (Window, error) {
	year, week, ok := parseWeekLabel(label)
	if !ok {
		return Window{}, apperr.FieldErr("week", "“%s” is not a week; write it like 2026-W48.", label)
	}
	loc, day, hour = cleanDayHour(loc, day, hour)
	// 4 January is always in week 1; its week starts on a Monday.
	jan4 := time.Date(year, time.January, 4, 0, 0, 0, 0, time.UTC)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(week-1))
	if y, w := monday.ISOWeek(); y != year || w != week {
		return Window{}, apperr.FieldErr("week", "The year %d has no week %d.", year, week)
	}
	first := monday.AddDate(0, 0, (int(day)-int(time.Monday)+7)%7)
	y, m, d := first.Date()
	start := wallClock(loc, y, m, d, hour)
	end := wallClock(loc, y, m, d+7, hour)
	return Window{Start: start, End: end, Label: isoLabel(start.In(loc))}, nil
}

// Previous returns the weekly window just before w, with the same rules,
// in the location of w.End. It is meant for windows made by WeeklyWindow
// or WindowForLabel: the weekday and hour are read back from w (the
// hour from whichever end was not moved by a daylight-saving gap), so a
// window whose times lost their location (decoded from JSON, say) is
// stepped back in that fixed offset.
func (w Window) Previous() Window {
	loc := w.End.Location()
	end, start := w.End.In(loc), w.Start.In(loc)
	return WeeklyWindow(w.Start, loc, end.Weekday(), min(start.Hour(), end.Hour()))
}
