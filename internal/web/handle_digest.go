package web

import (
	"net/http"
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
// zone and on their chosen day and hour.
func (s *Server) userWindow(u *users.User) (notify.Window, notify.Settings, error) {
	st, err := s.notify.Settings(u.ID)
	if err != nil {
		return notify.Window{}, st, err
	}
	return notify.WeeklyWindow(s.now(), u.Location(), st.WeeklyDay, st.DigestHour), st, nil
}

// digestPage shows a digest: the week so far by default, or the complete
// window of ?week=2026-W48, with links to the weeks around it.
func (s *Server) digestPage(c echo.Context) error {
	u := currentUser(c)
	last, st, err := s.userWindow(u)
	if err != nil {
		return err
	}
	// The week so far ends just after now, so what was published this very
	// moment is in it (windows are half-open).
	soFar := notify.Window{Start: last.End, End: s.now().Add(time.Nanosecond)}
	w := soFar
	current := true
	if label := c.QueryParam("week"); label != "" {
		if w, err = notify.WindowForLabel(label, u.Location(), st.WeeklyDay, st.DigestHour); err != nil {
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
	prev := last
	if !current {
		prev = w.Previous()
		if w.Label != last.Label {
			// The window after this one: the next week's label.
			p.Data["NextLabel"] = nextLabel(w)
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

// nextLabel is the ISO week label a week after w's start.
func nextLabel(w notify.Window) string {
	y, wk := w.Start.AddDate(0, 0, 7).ISOWeek()
	return isoLabel(y, wk)
}

func isoLabel(y, w int) string {
	return strconv.Itoa(y) + "-W" + twoDigits(w)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// digestFeed is one Atom entry per complete weekly window (the last eight),
// for managers who read in a feed reader. It needs the personal ?token=.
func (s *Server) digestFeed(c echo.Context) error {
	u, _, err := s.feedReader(c)
	if err != nil {
		return err
	}
	if u == nil {
		return apperr.New(apperr.NotFound, "The digest feed needs your personal feed address, shown on the digest page.")
	}
	w, _, err := s.userWindow(u)
	if err != nil {
		return err
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
	for i := 0; i < 8; i++ {
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
				URL:         s.opts.BaseURL + "/digest?week=" + w.Label,
				AuthorName:  "projblog",
				Published:   w.End,
				Updated:     w.End,
				ContentHTML: bodyOf(msg.HTML),
			})
		}
		w = w.Previous()
	}
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

// notificationsForm is the settings page's part about notifications.
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
	p.Data["Notify"] = st
	p.Data["Follow"] = rows
	p.Data["Modes"] = []notify.Mode{notify.Immediate, notify.Weekly, notify.Off}
	return nil
}

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

// saveFollow stores the mode chosen for each project (mode_SLUG fields).
func (s *Server) saveFollow(c echo.Context) error {
	u := currentUser(c)
	form, err := c.FormParams()
	if err != nil {
		return apperr.New(apperr.Invalid, "The form could not be read.")
	}
	for key, vals := range form {
		slug, ok := strings.CutPrefix(key, "mode_")
		if !ok || len(vals) == 0 {
			continue
		}
		if err := s.notify.SetProjectMode(u.Actor(), slug, notify.Mode(vals[0])); err != nil {
			return err
		}
	}
	return s.redirectFlash(c, "/settings#follow-h", "saved")
}

// unsubscribeForm asks for a confirmation click (a GET never changes
// anything: link scanners in mail systems follow links).
func (s *Server) unsubscribeForm(c echo.Context) error {
	if _, err := s.notify.UserForUnsubscribe(c.Param("token")); err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T("unsubscribe.title")
	p.Data["Token"] = c.Param("token")
	return s.render(c, "unsubscribe", p)
}

// unsubscribe turns e-mail off for the token's owner, without a login:
// both the confirmation button and a mail client's RFC 8058 one-click POST
// (List-Unsubscribe=One-Click) land here.
func (s *Server) unsubscribe(c echo.Context) error {
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

func (s *Server) adminOutbox(c echo.Context) error {
	items, err := s.notify.Outbox()
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T("outbox.title")
	p.Nav = "admin"
	p.Data["Items"] = items
	return s.render(c, "admin_outbox", p)
}
