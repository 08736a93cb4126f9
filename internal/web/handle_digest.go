package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
	"projblog/internal/feeds"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

func (s *Server) registerDigestRoutes(e *echo.Echo) {
	e.GET("/digest", s.digestPage, s.requireLogin)
	e.GET("/digest.atom", s.digestFeed)
	e.POST("/settings/notifications", s.saveNotifications, s.requireLogin)
	e.POST("/settings/follow", s.saveFollow, s.requireLogin)
	e.GET("/unsubscribe/:token", s.unsubscribeForm)
	e.POST("/unsubscribe/:token", s.unsubscribe)
	e.GET("/admin/outbox", s.adminOutbox, s.requireAdmin)
}

// userWindow is the reader's last complete digest window, in their time
// zone and on their chosen day and hour: weekly, or daily when daily is
// set.
func (s *Server) userWindow(u *users.User, daily bool) (notify.Window, notify.Settings, error) {
	st, err := s.notify.Settings(u.ID)
	if err != nil {
		return notify.Window{}, st, err
	}
	if daily {
		return notify.DailyWindow(s.now(), u.Location(), st.DigestHour), st, nil
	}
	return notify.WeeklyWindow(s.now(), u.Location(), st.WeeklyDay, st.DigestHour), st, nil
}

// digestPage shows a digest: the week so far by default, or the complete
// window of ?week=2026-W48; with ?period=day the day so far, or the
// complete daily window of ?day=2026-11-30; with links to the windows
// around it and a switch between weeks and days.
func (s *Server) digestPage(c echo.Context) error {
	u := currentUser(c)
	daily := c.QueryParam("period") == "day" || c.QueryParam("day") != ""
	last, st, err := s.userWindow(u, daily)
	if err != nil {
		return err
	}
	// The window so far ends just after now, so what was published this
	// very moment is in it (windows are half-open).
	soFar := notify.Window{Start: last.End, End: s.now().Add(time.Nanosecond), Daily: daily}
	w := soFar
	current := true
	label, param := c.QueryParam("week"), "week"
	if daily {
		label, param = c.QueryParam("day"), "day"
	}
	if label != "" {
		if daily {
			w, err = notify.DayWindowForLabel(label, u.Location(), st.DigestHour)
		} else {
			w, err = notify.WindowForLabel(label, u.Location(), st.WeeklyDay, st.DigestHour)
		}
		if err != nil {
			return err
		}
		current = !w.End.Before(s.now())
		if current {
			w = soFar
		}
	}
	d, err := s.notify.BuildDigest(u.ID, w)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T("digest.title")
	p.Nav = "digest"
	p.Data["Digest"] = d
	p.Data["Window"] = w
	p.Data["Current"] = current
	p.Data["Daily"] = daily
	p.Data["Param"] = param
	prev := last
	if !current {
		prev = w.Previous()
		if w.Label != last.Label {
			p.Data["NextLabel"] = w.Next()
		} else {
			p.Data["NextIsCurrent"] = true
		}
	}
	p.Data["PrevLabel"] = prev.Label
	p.Data["Settings"] = st
	s.setFeeds(c, p, "/digest", p.T("digest.feed_title"), false)
	p.Feeds = p.Feeds[:1] // the digest is an Atom feed only
	return s.render(c, "digest", p)
}

// Digest feed: how many complete windows it has entries for.
const (
	digestFeedWeeks = 8
	digestFeedDays  = 14
)

// digestFeed is one Atom entry per complete window: the last eight weeks,
// and the last fourteen days for a reader who follows something daily, for
// managers who read in a feed reader. It needs the personal ?token=.
func (s *Server) digestFeed(c echo.Context) error {
	u, _, err := s.feedReader(c)
	if err != nil {
		return err
	}
	if u == nil {
		return apperr.New(apperr.NotFound, "The digest feed needs your personal feed address, shown on the digest page.")
	}
	l := u.Language
	if l == "" {
		l = lang(c)
	}
	f := &feeds.Feed{
		ID: feeds.FeedID(s.opts.BaseURL, "digest/"+u.Handle), Title: s.t(l, "digest.feed_title_of", u.Name),
		Description: s.t(l, "digest.feed_description"), SelfURL: s.opts.BaseURL + c.Request().URL.RequestURI(),
		AltURL: s.opts.BaseURL + "/digest", Language: l, Generator: "projblog",
	}
	hasDaily, err := s.notify.HasDaily(u.ID)
	if err != nil {
		return err
	}
	for _, daily := range []bool{false, true} {
		n, param := digestFeedWeeks, "week"
		if daily {
			n, param = digestFeedDays, "day"
			if !hasDaily {
				continue
			}
		}
		w, _, err := s.userWindow(u, daily)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			d, err := s.notify.BuildDigest(u.ID, w)
			if err != nil {
				return err
			}
			if !d.Empty() {
				msg, err := s.notify.ComposeDigest(d)
				if err != nil {
					return err
				}
				f.Entries = append(f.Entries, feeds.Entry{
					ID:          feeds.FeedID(s.opts.BaseURL, "digest/"+u.Handle+"/"+w.Label),
					Title:       msg.Subject,
					URL:         s.opts.BaseURL + "/digest?" + param + "=" + w.Label,
					AuthorName:  "projblog",
					Published:   w.End,
					Updated:     w.End,
					ContentHTML: bodyOf(msg.HTML),
				})
			}
			w = w.Previous()
		}
	}
	slices.SortStableFunc(f.Entries, func(a, b feeds.Entry) int { return b.Published.Compare(a.Published) })
	c.Response().Header().Set("Cache-Control", "private, max-age=300")
	var b strings.Builder
	if err := feeds.Render(&b, f, feeds.Atom, s.opts.BaseURL); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, feeds.Atom.ContentType(), []byte(b.String()))
}

// bodyOf returns the inside of an HTML document's <body>, or the whole
// text when it has none.
func bodyOf(doc string) string {
	lower := strings.ToLower(doc)
	i := strings.Index(lower, "<body")
	j := strings.LastIndex(lower, "</body>")
	if i < 0 || j < i {
		return doc
	}
	k := strings.Index(lower[i:], ">")
	if k < 0 {
		return doc
	}
	return doc[i+k+1 : j]
}

// maxListedPosts is how many followed posts the settings page lists.
const maxListedPosts = 50

// notificationsData is the settings page's part about notifications: the
// settings, and every subscription with its mode: the projects the reader
// may read, the tags and the posts they follow.
func (s *Server) notificationsData(c echo.Context, p *page) error {
	u := currentUser(c)
	st, err := s.notify.Settings(u.ID)
	if err != nil {
		return err
	}
	projects, err := s.posts.Projects(u.Actor())
	if err != nil {
		return err
	}
	type row struct {
		Project *posts.ProjectView
		Mode    notify.Mode
	}
	var rows []row
	for _, pv := range projects {
		if pv.Archived {
			continue
		}
		m, err := s.notify.ProjectMode(u.ID, pv.ID)
		if err != nil {
			return err
		}
		rows = append(rows, row{pv, m})
	}
	tags, err := s.notify.FollowedTags(u.ID)
	if err != nil {
		return err
	}
	followed, total, err := s.notify.FollowedPosts(u.ID, maxListedPosts)
	if err != nil {
		return err
	}
	p.Data["Notify"] = st
	p.Data["Follow"] = rows
	p.Data["FollowTags"] = tags
	p.Data["FollowPosts"] = followed
	p.Data["FollowPostsMore"] = max(total-len(followed), 0)
	p.Data["Modes"] = followModes
	return nil
}

// followModes are the modes a person chooses from, in the forms' order.
var followModes = []notify.Mode{notify.Immediate, notify.Daily, notify.Weekly, notify.Off}

func (s *Server) saveNotifications(c echo.Context) error {
	u := currentUser(c)
	hour, _ := strconv.Atoi(c.FormValue("digest_hour"))
	day, _ := strconv.Atoi(c.FormValue("weekly_day"))
	qs, _ := strconv.Atoi(c.FormValue("quiet_start"))
	qe, _ := strconv.Atoi(c.FormValue("quiet_end"))
	st := notify.Settings{
		DigestHour: hour, WeeklyDay: time.Weekday(day), QuietStart: qs, QuietEnd: qe,
		FullText:     c.FormValue("full_text") == "1",
		MentionsOnly: c.FormValue("mentions_only") == "1",
		EmailOff:     c.FormValue("email_off") == "1",
	}
	if err := s.notify.SaveSettings(u.ID, st); err != nil {
		return err
	}
	return s.redirectFlash(c, "/settings#notify-h", "saved")
}

// saveFollow stores the modes chosen in one form: mode_SLUG for a project,
// tag_TAG for a tag, post_ID for a post. The settings page sends them all;
// the Follow control of a post or tag page sends one, with next, the page
// to go back to. Every mode is checked before any is stored, so a form
// with a bad one changes nothing.
func (s *Server) saveFollow(c echo.Context) error {
	u := currentUser(c)
	form, err := c.FormParams()
	if err != nil {
		return apperr.New(apperr.Invalid, "The form could not be read.")
	}
	type choice struct {
		kind, key string
		mode      notify.Mode
	}
	var choices []choice
	for key, vals := range form {
		if len(vals) == 0 {
			continue
		}
		m := notify.Mode(vals[0])
		for _, kind := range []string{"mode_", "tag_", "post_"} {
			if rest, ok := strings.CutPrefix(key, kind); ok {
				if !m.Valid() {
					return apperr.FieldErr("mode", "Please choose how to follow: immediately, daily, weekly or off.")
				}
				choices = append(choices, choice{kind, rest, m})
			}
		}
	}
	slices.SortFunc(choices, func(a, b choice) int { return strings.Compare(a.kind+a.key, b.kind+b.key) })
	for _, ch := range choices {
		var err error
		switch ch.kind {
		case "mode_":
			err = s.notify.SetProjectMode(u.Actor(), ch.key, ch.mode)
		case "tag_":
			err = s.notify.SetTagMode(u.Actor(), ch.key, ch.mode)
		case "post_":
			id, perr := strconv.ParseUint(ch.key, 10, 64)
			if perr != nil {
				return apperr.New(apperr.NotFound, "No such post.")
			}
			err = s.notify.SetPostMode(u.Actor(), id, ch.mode)
		}
		if err != nil {
			return err
		}
	}
	next := "/settings#follow-h"
	if n := c.FormValue("next"); n != "" {
		next = safeNext(n)
	}
	return s.redirectFlash(c, next, "saved")
}

// unsubscribeForm asks for a confirmation click (a GET never changes
// anything: link scanners in mail systems follow links).
func (s *Server) unsubscribeForm(c echo.Context) error {
	token := c.Param("token")
	project := ""
	if notify.IsGuestUnsubscribeToken(token) {
		_, name, err := s.notify.GuestForUnsubscribe(token)
		if err != nil {
			return err
		}
		project = name
	} else if _, err := s.notify.UserForUnsubscribe(token); err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T("unsubscribe.title")
	p.Data["Token"] = token
	p.Data["GuestProject"] = project
	return s.render(c, "unsubscribe", p)
}

// unsubscribeGuest turns a guest subscriber's e-mail off (their token says
// which); like a member's, it needs no login.
func (s *Server) unsubscribeGuest(c echo.Context, token string) error {
	g, project, err := s.notify.GuestForUnsubscribe(token)
	if err != nil {
		return err
	}
	if err := s.notify.SetGuestEmailOff(g); err != nil {
		return err
	}
	if c.FormValue("List-Unsubscribe") == "One-Click" {
		return c.String(http.StatusOK, "unsubscribed\n")
	}
	p := s.page(c, "")
	p.Title = p.T("unsubscribe.done_title")
	p.Data["Done"] = true
	p.Data["GuestProject"] = project
	return s.render(c, "unsubscribe", p)
}

// unsubscribe turns e-mail off for the token's owner, without a login:
// both the confirmation button and a mail client's RFC 8058 one-click POST
// (List-Unsubscribe=One-Click) land here.
func (s *Server) unsubscribe(c echo.Context) error {
	if token := c.Param("token"); notify.IsGuestUnsubscribeToken(token) {
		return s.unsubscribeGuest(c, token)
	}
	id, err := s.notify.UserForUnsubscribe(c.Param("token"))
	if err != nil {
		return err
	}
	if err := s.notify.SetEmailOff(id, true); err != nil {
		return err
	}
	if c.FormValue("List-Unsubscribe") == "One-Click" {
		return c.String(http.StatusOK, "unsubscribed\n")
	}
	p := s.page(c, "")
	p.Title = p.T("unsubscribe.done_title")
	p.Data["Done"] = true
	return s.render(c, "unsubscribe", p)
}

// webhookFailureRow is a failed webhook delivery with its project.
type webhookFailureRow struct {
	notify.WebhookFailure
	Project *posts.ProjectView // nil when it cannot be read
}

// adminOutbox lists what did not go out: e-mail waiting or failed, and
// webhook deliveries that failed, for admins; nothing is ever dropped
// from either list silently.
func (s *Server) adminOutbox(c echo.Context) error {
	items, err := s.notify.Outbox()
	if err != nil {
		return err
	}
	failures, err := s.notify.WebhookFailures()
	if err != nil {
		return err
	}
	a := actor(c)
	projects := map[uint64]*posts.ProjectView{}
	rows := make([]webhookFailureRow, 0, len(failures))
	for _, f := range failures {
		pv, ok := projects[f.ProjectID]
		if !ok {
			pv, err = s.posts.ProjectByID(a, f.ProjectID)
			if err != nil && !apperr.Is(err, apperr.NotFound) {
				return err
			}
			projects[f.ProjectID] = pv
		}
		rows = append(rows, webhookFailureRow{WebhookFailure: f, Project: pv})
	}
	p := s.page(c, "")
	p.Title = p.T("outbox.title")
	p.Nav = "admin"
	p.Data["Items"] = items
	p.Data["WebhookFailures"] = rows
	p.Data["MaxAttempts"] = notify.MaxAttempts
	return s.render(c, "admin_outbox", p)
}
