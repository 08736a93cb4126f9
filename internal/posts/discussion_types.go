package posts

import "time"

// Health is a project's health as a status update reports it.
type Health string

// The health values. HealthNone marks an ordinary post.
const (
	HealthNone Health = ""
	OnTrack    Health = "on_track"
	AtRisk     Health = "at_risk"
	OffTrack   Health = "off_track"
)

// Valid reports whether h is one of the three health values or none.
func (h Health) Valid() bool { return h == HealthNone || h == OnTrack || h == AtRisk || h == OffTrack }

// Cadence is how often a project's owners expect a status update: by the
// given weekday and hour in the given time zone, every Every.
type Cadence struct {
	Every    string       `json:"every"`     // "week", "2weeks" or "month" (the first such weekday of the month)
	Weekday  time.Weekday `json:"weekday"`   // the day the update is due
	Hour     int          `json:"hour"`      // 0-23, local time in TimeZone
	TimeZone string       `json:"time_zone"` // IANA name; "" = UTC
}

func (c *Cadence) clone() *Cadence {
	if c == nil {
		return nil
	}
	cc := *c
	return &cc
}
