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

// Daily windows follow the same rules on a one-day step: a daily digest
// covers [Start, End) from the person's digest hour on one local day to
// the same wall-clock hour on the next, so a day with a change of
// daylight-saving time is 23 or 25 hours long and the digest still comes
// at the chosen hour; a skipped hour counts from when the gap ends, a
// repeated hour at its first occurrence. A daily window is named by the
// local date of its start ("2026-03-29").

// dayLabelLayout is the layout of a daily window's label.
const dayLabelLayout = "2006-01-02"

// DailyWindow returns the most recent complete daily window at now for a
// person in loc whose digest comes at hour:00: End is the latest such
// moment at or before now (now itself when it is exactly one), Start the
// same wall-clock time one local day earlier. Label is the local date of
// Start; Daily is true. Start and End are in loc. A nil loc means UTC; an
// hour outside 0–23 is clamped.
func DailyWindow(now time.Time, loc *time.Location, hour int) Window {
	loc, _, hour = cleanDayHour(loc, 0, hour)
	y, m, d := now.In(loc).Date()
	end := wallClock(loc, y, m, d, hour)
	back := 0
	if end.After(now) {
		back = 1
		end = wallClock(loc, y, m, d-1, hour)
	}
	start := wallClock(loc, y, m, d-back-1, hour)
	return Window{Start: start, End: end, Label: start.In(loc).Format(dayLabelLayout), Daily: true}
}

// DayWindowForLabel returns the daily window, for a person in loc whose
// digest comes at hour:00, that starts on the local date label
// ("2026-03-29"). It is the inverse of DailyWindow's Label. Errors:
// Invalid (Field "day") for a label that is not such a date.
func DayWindowForLabel(label string, loc *time.Location, hour int) (Window, error) {
	t, err := time.Parse(dayLabelLayout, strings.TrimSpace(label))
	if err != nil {
		return Window{}, apperr.FieldErr("day", "“%s” is not a day; write it like 2026-11-30.", label)
	}
	loc, _, hour = cleanDayHour(loc, 0, hour)
	y, m, d := t.Date()
	start := wallClock(loc, y, m, d, hour)
	end := wallClock(loc, y, m, d+1, hour)
	return Window{Start: start, End: end, Label: start.In(loc).Format(dayLabelLayout), Daily: true}, nil
}

// Next returns the label of the window after w (of the same kind): the
// next ISO week, or the next local day.
func (w Window) Next() string {
	loc := w.End.Location()
	if w.Daily {
		return w.End.In(loc).Format(dayLabelLayout)
	}
	return isoLabel(w.Start.In(loc).AddDate(0, 0, 7))
}

// Previous returns the window just before w, with the same rules,
// in the location of w.End. It is meant for windows made by
// WeeklyWindow, WindowForLabel, DailyWindow or DayWindowForLabel: the
// weekday and hour are read back from w (the hour from whichever end was
// not moved by a daylight-saving gap), so a window whose times lost their
// location (decoded from JSON, say) is stepped back in that fixed offset.
func (w Window) Previous() Window {
	loc := w.End.Location()
	end, start := w.End.In(loc), w.Start.In(loc)
	if w.Daily {
		return DailyWindow(w.Start, loc, min(start.Hour(), end.Hour()))
	}
	return WeeklyWindow(w.Start, loc, end.Weekday(), min(start.Hour(), end.Hour()))
}
