// Package notify tells people about what happened, once, in the form they
// chose: subscriptions and settings, the weekly digest (by e-mail, as a web
// page and as a feed), the delivery outbox and SMTP delivery. It consumes
// the posts package's data and the event log; it owns the buckets
// "notify.*".
//
// What it does, file by file: subscriptions to projects with defaults and
// per-person settings, quiet hours included (subscriptions.go); following
// tags (site-wide) and posts (their comments), implicit for a post's
// author, commenters and people mentioned (follow.go); weekly and daily
// digest windows (window.go) and digest building (digest.go); immediate
// notices bundled per person (notices.go); e-mail composition (mail.go,
// notice_mail.go, guest_mail.go); a durable outbox with retries
// (outbox.go); one-click unsubscribe (unsubscribe.go); guest subscribers
// of a project, outside addresses with a magic link to read it
// (guests.go); webhooks per project to Slack, Microsoft Teams or any JSON
// receiver, with their own durable queue and delivery log (webhooks.go);
// and the scheduler that runs it all every minute (scheduler.go).
package notify

import (
	"time"

	"projblog/internal/posts"
	"projblog/internal/users"
)

// Mode is how a person hears about what they follow.
type Mode string

// The modes. A project's members follow it weekly until they choose.
const (
	Off       Mode = "off"
	Immediate Mode = "immediate"
	Daily     Mode = "daily"
	Weekly    Mode = "weekly"
)

// Valid reports whether m is one of the modes.
func (m Mode) Valid() bool { return m == Off || m == Immediate || m == Daily || m == Weekly }

// Settings are a person's global notification preferences.
type Settings struct {
	DigestHour   int          `json:"digest_hour"`   // 0-23 local time (default 8)
	WeeklyDay    time.Weekday `json:"weekly_day"`    // default Monday
	FullText     bool         `json:"full_text"`     // digest shows whole posts instead of excerpts
	MentionsOnly bool         `json:"mentions_only"` // only mentions and acknowledgement requests, no digests
	EmailOff     bool         `json:"email_off"`     // unsubscribed from all e-mail (one-click)
	// QuietStart and QuietEnd are hours 0-23 on the person's wall clock:
	// no immediate notice is sent from QuietStart:00 until QuietEnd:00
	// (they wait and go out, bundled, when the quiet hours end). Equal
	// hours mean no quiet hours; the range may wrap midnight (22 to 7).
	// Digests are not held back: they come at the hour the person chose.
	QuietStart int `json:"quiet_start"`
	QuietEnd   int `json:"quiet_end"`
}

// QuietAt reports whether t falls in the quiet hours of st on the wall
// clock of loc (nil: UTC): QuietStart <= hour < QuietEnd, or, for a range
// that wraps midnight, hour >= QuietStart or hour < QuietEnd. Equal
// hours (the default) are never quiet.
func (st Settings) QuietAt(t time.Time, loc *time.Location) bool {
	if st.QuietStart == st.QuietEnd {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	h := t.In(loc).Hour()
	if st.QuietStart < st.QuietEnd {
		return h >= st.QuietStart && h < st.QuietEnd
	}
	return h >= st.QuietStart || h < st.QuietEnd
}

// DefaultSettings is what a person has until they change something:
// the weekly digest on Monday at 08:00 in their time zone, no quiet
// hours.
func DefaultSettings() Settings { return Settings{DigestHour: 8, WeeklyDay: time.Monday} }

// Window is the period a digest covers: [Start, End), and its label.
type Window struct {
	Start, End time.Time
	// Label names the window: the ISO week of its start for a weekly
	// window ("2026-W48"), the local date of its start for a daily one
	// ("2026-11-30").
	Label string
	Daily bool // a daily digest's window (DailyWindow), not a weekly one
}

// Digest is one person's digest for one window: the projects they follow
// with something to say, those at risk, off track or overdue first, and
// what waits for them.
type Digest struct {
	User *users.User
	// Guest is the reader of a guest subscriber's digest (guests.go), whose
	// User is nil: it has the one project of the guest, nothing else.
	Guest    *Guest
	Window   Window
	Projects []ProjectDigest
	// Tags are the followed tags' posts of the window in projects that
	// are not listed above (follow.go), by tag.
	Tags []TagDigest
	// Discussions are the followed posts with new comments in the window.
	Discussions []DiscussionDigest
	Waiting     []*posts.Post // acknowledgement requests open for the person (weekly digests)
}

// TagDigest is what was published with one followed tag during the
// window, newest first, in projects the digest does not list already.
type TagDigest struct {
	Tag   string
	Posts []DigestPost // Project is set
}

// DiscussionDigest is a followed post with comments written by others
// during the window.
type DiscussionDigest struct {
	Post       *posts.Post
	Project    *posts.ProjectView
	Comments   int       // new comments by others in the window
	Commenters []string  // their authors' names, first to comment first, at most maxCommenters
	LastAt     time.Time // the newest of them
}

// ProjectDigest is what happened in one project during the window.
type ProjectDigest struct {
	Project        *posts.ProjectView
	Health         posts.Health // at the window's end: the current health for a window ending now
	PreviousHealth posts.Health // at the window's start, when it changed during it
	HealthChanged  bool
	Overdue        bool
	Posts          []DigestPost     // published in the window, newest first
	Decisions      []posts.Decision // marked in the window, newest first
}

// DigestPost is a post in a digest.
type DigestPost struct {
	Post     *posts.Post
	Author   *users.User
	Mine     bool // the reader wrote it (the digest is a complete record)
	Comments int
	Project  *posts.ProjectView // set in TagDigest, where posts come from several projects
}

// Empty reports whether the digest has nothing to say (it is then not
// sent).
func (d *Digest) Empty() bool {
	if d == nil {
		return true
	}
	if len(d.Waiting) > 0 || len(d.Tags) > 0 || len(d.Discussions) > 0 {
		return false
	}
	for _, p := range d.Projects {
		if len(p.Posts) > 0 || len(p.Decisions) > 0 || p.HealthChanged || p.Overdue {
			return false
		}
	}
	return true
}
