package notify

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// The welcome message of a guest subscriber (guests.go), rendered from
// the theme's mail/guest.txt and mail/guest.html in the guest's language:
// who invited them to which project, the magic link to read it, when the
// digest comes, the personal feed link, and the one-click unsubscribe.
// Headers as the digest's: Message-ID <guest-welcome.GUESTID.GENERATION@HOST>
// (a renewed link is a new message), List-Id <PROJECTSLUG.HOST>,
// List-Unsubscribe (+ List-Unsubscribe-Post over https), Auto-Submitted.

var guestTextTmpl, guestHTMLTmpl = parseMailTemplates("guest")

// guestMail is what the guest templates receive.
type guestMail struct {
	mailText
	Subject, Intro, Schedule, Project string
	ReadURL, FeedURL, UnsubscribeURL  string
}

// composeGuestWelcome renders the welcome message; it reads nothing from
// the database (AddGuest calls it inside its write transaction).
func (s *Service) composeGuestWelcome(g *Guest, pv *posts.ProjectView, owner *users.User, token, unsubURL string) (*Message, error) {
	v := &guestMail{mailText: mailText{Lang: mailLang(g.Language), loc: g.Location()}, Project: pv.Name,
		ReadURL: s.GuestMagicURL(token), FeedURL: s.GuestFeedURL(pv.Slug, token), UnsubscribeURL: unsubURL}
	st := DefaultSettings()
	hour := v.T("mail.guest.at_hour", time.Date(2000, 1, 1, st.DigestHour, 0, 0, 0, time.UTC).Format("15:04"), g.Location().String())
	if g.Mode == Daily {
		v.Schedule = v.T("mail.guest.schedule_daily", hour)
	} else {
		v.Schedule = v.T("mail.guest.schedule_weekly", i18n.WeekdayName(v.Lang, st.WeeklyDay), hour)
	}
	if owner != nil {
		v.Subject = v.T("mail.guest.subject", owner.Name, pv.Name)
		v.Intro = v.T("mail.guest.intro", owner.Name, pv.Name)
	} else {
		v.Subject = v.T("mail.guest.subject_anon", pv.Name)
		v.Intro = v.T("mail.guest.intro_anon", pv.Name)
	}
	var txt, htm bytes.Buffer
	if err := guestTextTmpl.Execute(&txt, v); err != nil {
		return nil, apperr.Wrap(err, "render the guest message's text part")
	}
	if err := guestHTMLTmpl.Execute(&htm, v); err != nil {
		return nil, apperr.Wrap(err, "render the guest message's HTML part")
	}
	host := mailHost(strings.TrimSuffix(s.opts.BaseURL, "/"))
	h := map[string]string{
		"Message-ID":       "<guest-welcome." + strconv.FormatUint(g.ID, 10) + "." + strconv.FormatUint(g.Generation, 10) + "@" + host + ">",
		"Date":             s.now().In(v.loc).Format(time.RFC1123Z),
		"List-Id":          "<" + pv.Slug + "." + host + ">",
		"List-Unsubscribe": "<" + unsubURL + ">",
		"Auto-Submitted":   "auto-generated",
		"Precedence":       "bulk",
	}
	if strings.HasPrefix(unsubURL, "https://") {
		h["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	return &Message{To: g.Email, Subject: v.Subject, Text: txt.String(), HTML: htm.String(), Headers: h}, nil
}
