package notify

import (
	"bytes"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/markdown"
	"projblog/internal/posts"
	"projblog/themes"
)

// Composing e-mail.
//
// A digest e-mail is rendered from the theme's mail/digest.txt
// (text/template) and mail/digest.html (html/template), both given a
// digestMail, whose methods (T, N, Date, DateTime, Heading, Indent, from
// mailText, which the notices' templates share: see notice_mail.go) are
// the templates' vocabulary: every word comes from the i18n catalogue
// ("mail.digest.*" keys) in the reader's language (users.User.Language,
// English when unset), every time is shown in the reader's time zone. The
// templates are parsed when the package loads, so a broken template stops
// the program at start-up rather than at the first digest. They come from
// the embedded default theme; a theme directory on disk does not override
// them yet.
//
// Links are absolute (Options.BaseURL + /p/PROJECT/POST); a post shown in
// full has its relative links made absolute and its heading permalinks
// removed. Order: what needs attention (projects off track, at risk, with
// an overdue status update) first, then what waits for the reader
// (acknowledgement requests), then each project, in BuildDigest's order.

var (
	digestTextTmpl *texttemplate.Template
	digestHTMLTmpl *htmltemplate.Template
	noticeTextTmpl *texttemplate.Template
	noticeHTMLTmpl *htmltemplate.Template
)

func init() {
	digestTextTmpl, digestHTMLTmpl = parseMailTemplates("digest")
	noticeTextTmpl, noticeHTMLTmpl = parseMailTemplates("notice")
}

// parseMailTemplates parses the default theme's mail/NAME.txt and
// mail/NAME.html, panicking when one is missing or broken.
func parseMailTemplates(name string) (*texttemplate.Template, *htmltemplate.Template) {
	theme := themes.Default()
	txt, err := fs.ReadFile(theme, "mail/"+name+".txt")
	if err != nil {
		panic("notify: theme: " + err.Error())
	}
	h, err := fs.ReadFile(theme, "mail/"+name+".html")
	if err != nil {
		panic("notify: theme: " + err.Error())
	}
	return texttemplate.Must(texttemplate.New(name + ".txt").Parse(string(txt))),
		htmltemplate.Must(htmltemplate.New(name + ".html").Parse(string(h)))
}

// mailText is the vocabulary that every mail template shares: the
// reader's language and time zone, and the helpers for the text part.
type mailText struct {
	Lang string
	loc  *time.Location
}

// digestMail is what the digest templates receive.
type digestMail struct {
	mailText
	Subject  string
	Name     string // the reader's display name ("" for a guest)
	Label    string // "2026-W48", or "2026-11-30" for a daily digest
	Daily    bool
	From, To time.Time
	FullText bool // posts in full rather than their summary
	// Title, Period, Greeting, Intro and Why are translated already: they
	// differ between weekly and daily digests and members and guests.
	Title, Period, Greeting, Intro, Why string
	Attention                           []*mailProject
	Waiting                             []mailWaiting
	Projects                            []*mailProject
	Tags                                []mailTag
	Discussions                         []mailDiscussion

	// A member's links (DigestURL and SettingsURL are "" for a guest).
	DigestURL, SettingsURL, UnsubscribeURL string
	// A guest's links: the magic link and the personal feed.
	ReadURL, FeedURL, GuestProject string

	userID uint64 // the reader, 0 for a guest (who cannot answer by mail)
}

// mailTag is a followed tag's posts.
type mailTag struct {
	Tag   string
	Posts []mailPost
}

// mailDiscussion is a followed post with new comments.
type mailDiscussion struct {
	Title, URL, Project string
	Comments            int
	Commenters          []string
}

type mailProject struct {
	Name, Slug, URL string
	Health          string // "", "on_track", "at_risk", "off_track"
	PreviousHealth  string
	HealthChanged   bool
	Overdue         bool
	DueAt           time.Time // when the overdue update was due
	Posts           []mailPost
	Decisions       []mailDecision
}

type mailPost struct {
	Title, URL, Author string
	Project            string // the project's name (shown for a tag's posts)
	Mine               bool
	Comments           int
	Health             string // a status update's health
	Published          time.Time
	Summary            string
	// ReplyURL is a mailto: link to the reader's reply address for the
	// post ("" for a guest, or when the site takes no mail).
	ReplyURL string
	Body     string            // the Markdown source (text part, full text)
	HTML     htmltemplate.HTML // sanitised, links absolute (HTML part, full text)
}

type mailDecision struct {
	Title, URL string
	Excerpt    string // the comment's text, for a decision taken in a comment
	InComment  bool
	MarkedAt   time.Time
}

type mailWaiting struct {
	Title, URL, Project string
}

// T translates key into the reader's language.
func (v *mailText) T(key string, args ...any) string { return i18n.T(v.Lang, key, args...) }

// N is the plural form of key for n.
func (v *mailText) N(key string, n int) string { return i18n.N(v.Lang, key, n) }

// Date shows t's date in the reader's language and time zone.
func (v *mailText) Date(t time.Time) string { return i18n.Date(v.Lang, t, v.loc) }

// DateTime shows t's date and time in the reader's language and time zone.
func (v *mailText) DateTime(t time.Time) string { return i18n.DateTime(v.Lang, t, v.loc) }

// HealthLabel names a health value ("At risk").
func (v *digestMail) HealthLabel(h string) string {
	if h == "" {
		return v.T("mail.digest.no_health")
	}
	return v.T("health." + h)
}

// healthBadge is what the HTML template's "health" partial receives.
type healthBadge struct {
	V      *digestMail
	Health string
}

// Badge hands a health value to the HTML template's "health" partial.
func (v *digestMail) Badge(h string) healthBadge { return healthBadge{v, h} }

// Join joins names with commas, for the templates.
func (v *mailText) Join(xs []string) string { return strings.Join(xs, ", ") }

// Heading underlines s for the text part.
func (v *mailText) Heading(s string, c string) string {
	return s + "\n" + strings.Repeat(c, utf8.RuneCountInString(s))
}

// Indent wraps s at 72 columns, every line indented by n spaces, for the
// text part.
func (v *mailText) Indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for i, para := range strings.Split(strings.TrimSpace(s), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		col := 0
		b.WriteString(pad)
		for j, w := range strings.Fields(para) {
			wl := utf8.RuneCountInString(w)
			if j > 0 && col+1+wl > 72-n {
				b.WriteString("\n" + pad)
				col = 0
			} else if j > 0 {
				b.WriteByte(' ')
				col++
			}
			b.WriteString(w)
			col += wl
		}
	}
	return b.String()
}

// Block indents every line of s by n spaces without wrapping (Markdown
// source, whose line breaks matter), for the text part.
func (v *mailText) Block(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		} else {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// ComposeDigest renders d as an e-mail to its reader: the subject ("Your
// weekly digest: 3 projects, 1 at risk (2026-W48)", "Your daily digest:
// … (30 November 2026)") and both parts in the reader's language, and the
// headers Message-ID <digest.USERID.LABEL@HOST>, Date, List-Id
// <digest.HOST>, List-Unsubscribe <BaseURL/unsubscribe/TOKEN>,
// List-Unsubscribe-Post (RFC 8058 one-click, only when BaseURL is https:
// the RFC requires it), Auto-Submitted: auto-generated and Precedence:
// bulk, with HOST the host of Options.BaseURL. It reads the reader's
// settings (FullText) and, for acknowledgement requests in projects not
// otherwise in the digest, the projects' slugs.
//
// A guest's digest (d.Guest, see guests.go) is addressed to the guest, in
// the language and zone recorded for them, with their magic link and
// personal feed link instead of the links to settings, Message-ID
// <digest.guest.GUESTID.LABEL@HOST>, List-Id <PROJECTSLUG.HOST> and the
// guest's own one-click unsubscribe link.
//
// It returns apperr.Invalid for a digest without a reader; other errors
// are storage or template failures. Safe for concurrent use.
func (s *Service) ComposeDigest(d *Digest) (*Message, error) {
	if d == nil || (d.User == nil && d.Guest == nil) {
		return nil, apperr.New(apperr.Invalid, "A digest needs a reader.")
	}
	base := strings.TrimSuffix(s.opts.BaseURL, "/")
	label := d.Window.Label
	v := &digestMail{From: d.Window.Start, To: d.Window.End, Label: label, Daily: d.Window.Daily}
	var to, idPart, listID string
	var guestProject *posts.ProjectView
	if g := d.Guest; g != nil {
		pv, err := s.projectOf(g.ProjectID)
		if err != nil {
			return nil, err
		}
		guestProject = pv
		token, err := s.GuestToken(g)
		if err != nil {
			return nil, err
		}
		v.mailText = mailText{Lang: mailLang(g.Language), loc: g.Location()}
		v.Greeting = v.T("mail.digest.greeting_guest")
		v.Intro = v.T("mail.digest.intro_guest", pv.Name, v.DateTime(v.From), v.DateTime(v.To))
		v.Why = v.T("mail.digest.why_guest", pv.Name)
		v.ReadURL = s.GuestMagicURL(token)
		v.FeedURL = s.GuestFeedURL(pv.Slug, token)
		v.GuestProject = pv.Name
		v.UnsubscribeURL = s.GuestUnsubscribeURL(g)
		to = g.Email
		idPart = "guest." + strconv.FormatUint(g.ID, 10)
		listID = pv.Slug + "." + mailHost(base)
	} else {
		u := d.User
		st, err := s.Settings(u.ID)
		if err != nil {
			return nil, err
		}
		unsub, err := s.unsubscribeToken(u.ID)
		if err != nil {
			return nil, err
		}
		v.mailText = mailText{Lang: mailLang(u.Language), loc: u.Location()}
		v.Name, v.FullText, v.userID = u.Name, st.FullText, u.ID
		v.Greeting = v.T("mail.digest.greeting", u.Name)
		v.Intro = v.T("mail.digest.intro", v.DateTime(v.From), v.DateTime(v.To))
		v.Why = v.T("mail.digest.why")
		if v.Daily {
			v.Why = v.T("mail.digest.why_daily")
		}
		v.DigestURL = base + "/digest"
		v.SettingsURL = base + "/settings#notify-h"
		v.UnsubscribeURL = base + "/unsubscribe/" + unsub
		switch {
		case label != "" && v.Daily:
			v.DigestURL += "?day=" + url.QueryEscape(label)
		case label != "":
			v.DigestURL += "?week=" + url.QueryEscape(label)
		}
		to = u.Email
		idPart = strconv.FormatUint(u.ID, 10)
		listID = "digest." + mailHost(base)
	}
	v.Title, v.Period = v.T("mail.digest.title"), v.T("mail.digest.week", label)
	if v.Daily {
		v.Title, v.Period = v.T("mail.digest.title_daily"), v.T("mail.digest.day", v.Date(v.From))
	}

	slugs := map[uint64]string{}
	var atRisk, offTrack, overdue, newPosts int
	for i := range d.Projects {
		pd := &d.Projects[i]
		mp := s.mailProject(v, base, pd)
		slugs[pd.Project.ID] = pd.Project.Slug
		v.Projects = append(v.Projects, mp)
		newPosts += len(pd.Posts)
		switch pd.Health {
		case posts.AtRisk:
			atRisk++
		case posts.OffTrack:
			offTrack++
		}
		if pd.Overdue {
			overdue++
		}
		if pd.Health == posts.AtRisk || pd.Health == posts.OffTrack || pd.Overdue {
			v.Attention = append(v.Attention, mp)
		}
	}
	tagged := 0
	for _, td := range d.Tags {
		mt := mailTag{Tag: td.Tag}
		for _, dp := range td.Posts {
			mt.Posts = append(mt.Posts, s.mailPost(v, base, dp.Project, dp))
		}
		tagged += len(td.Posts)
		v.Tags = append(v.Tags, mt)
	}
	for _, dd := range d.Discussions {
		v.Discussions = append(v.Discussions, mailDiscussion{Title: dd.Post.Title, Project: dd.Project.Name,
			URL: postURL(base, dd.Project.Slug, dd.Post.Slug) + "#comments", Comments: dd.Comments, Commenters: dd.Commenters})
	}
	names := map[uint64]string{}
	for _, pd := range d.Projects {
		names[pd.Project.ID] = pd.Project.Name
	}
	for _, p := range d.Waiting {
		slug, ok := slugs[p.ProjectID]
		if !ok {
			pv, err := s.posts.ProjectByID(d.User.Actor(), p.ProjectID)
			if apperr.Is(err, apperr.NotFound) {
				continue // no longer readable: nothing to acknowledge
			}
			if err != nil {
				return nil, err
			}
			slug, slugs[p.ProjectID], names[p.ProjectID] = pv.Slug, pv.Slug, pv.Name
		}
		v.Waiting = append(v.Waiting, mailWaiting{Title: p.Title, Project: names[p.ProjectID],
			URL: postURL(base, slug, p.Slug) + "#acks"})
	}

	var parts []string
	if n := len(d.Projects); n > 0 && guestProject == nil {
		parts = append(parts, v.N("mail.digest.subject_projects", n))
	}
	if guestProject != nil && newPosts > 0 {
		parts = append(parts, v.N("mail.digest.subject_posts", newPosts))
	}
	if offTrack > 0 {
		parts = append(parts, v.N("mail.digest.subject_off_track", offTrack))
	}
	if atRisk > 0 {
		parts = append(parts, v.N("mail.digest.subject_at_risk", atRisk))
	}
	if overdue > 0 {
		parts = append(parts, v.N("mail.digest.subject_overdue", overdue))
	}
	if tagged > 0 {
		parts = append(parts, v.N("mail.digest.subject_tagged", tagged))
	}
	if n := len(v.Discussions); n > 0 {
		parts = append(parts, v.N("mail.digest.subject_discussions", n))
	}
	if n := len(v.Waiting); n > 0 {
		parts = append(parts, v.N("mail.digest.subject_waiting", n))
	}
	if len(parts) == 0 {
		parts = append(parts, v.T("mail.digest.subject_nothing"))
	}
	summary := strings.Join(parts, ", ")
	switch {
	case guestProject != nil && v.Daily:
		v.Subject = v.T("mail.digest.subject_guest_daily", guestProject.Name, summary, v.Date(v.From))
	case guestProject != nil:
		v.Subject = v.T("mail.digest.subject_guest", guestProject.Name, summary, label)
	case label == "":
		v.Subject = v.T("mail.digest.subject_unlabelled", summary)
	case v.Daily:
		v.Subject = v.T("mail.digest.subject_daily", summary, v.Date(v.From))
	default:
		v.Subject = v.T("mail.digest.subject", summary, label)
	}

	var txt, htm bytes.Buffer
	if err := digestTextTmpl.Execute(&txt, v); err != nil {
		return nil, apperr.Wrap(err, "render the digest's text part")
	}
	if err := digestHTMLTmpl.Execute(&htm, v); err != nil {
		return nil, apperr.Wrap(err, "render the digest's HTML part")
	}

	host := mailHost(base)
	id := label
	if id == "" {
		id = strconv.FormatInt(d.Window.Start.Unix(), 10)
	}
	h := map[string]string{
		"Message-ID":       "<digest." + idPart + "." + id + "@" + host + ">",
		"Date":             s.now().In(v.loc).Format(time.RFC1123Z),
		"List-Id":          "<" + listID + ">",
		"List-Unsubscribe": "<" + v.UnsubscribeURL + ">",
		"Auto-Submitted":   "auto-generated",
		"Precedence":       "bulk",
	}
	if strings.HasPrefix(v.UnsubscribeURL, "https://") {
		h["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	return &Message{To: to, Subject: v.Subject, Text: txt.String(), HTML: htm.String(), Headers: h}, nil
}

// mailLang is lang when it is supported, else English.
func mailLang(lang string) string {
	if !i18n.Supported(lang) {
		return "en"
	}
	return lang
}

func (s *Service) mailProject(v *digestMail, base string, pd *ProjectDigest) *mailProject {
	pv := pd.Project
	mp := &mailProject{
		Name: pv.Name, Slug: pv.Slug, URL: base + "/p/" + url.PathEscape(pv.Slug),
		Health: string(pd.Health), PreviousHealth: string(pd.PreviousHealth),
		HealthChanged: pd.HealthChanged, Overdue: pd.Overdue,
	}
	if pd.Overdue {
		mp.DueAt = pv.NextDue()
	}
	for _, dp := range pd.Posts {
		mp.Posts = append(mp.Posts, s.mailPost(v, base, pv, dp))
	}
	for _, dec := range pd.Decisions {
		if dec.Post == nil {
			continue
		}
		md := mailDecision{Title: dec.Post.Title, URL: postURL(base, pv.Slug, dec.Post.Slug), MarkedAt: dec.MarkedAt}
		if dec.Comment != nil {
			md.InComment = true
			md.URL += "#comment-" + strconv.FormatUint(dec.Comment.ID, 10)
			md.Excerpt = markdown.Excerpt(dec.Comment.Body, 200)
		}
		mp.Decisions = append(mp.Decisions, md)
	}
	return mp
}

// mailPost is one post of the digest as the templates show it.
func (s *Service) mailPost(v *digestMail, base string, pv *posts.ProjectView, dp DigestPost) mailPost {
	p := dp.Post
	u := postURL(base, pv.Slug, p.Slug)
	mpost := mailPost{
		Title: p.Title, URL: u, Mine: dp.Mine, Comments: dp.Comments, Project: pv.Name,
		Health: string(p.Health), Published: p.PublishedAt, Summary: p.Summary,
	}
	if dp.Author != nil {
		mpost.Author = dp.Author.Name
	}
	mpost.ReplyURL = s.replyURL(v.userID, p.ID, 0, p.Title)
	if v.FullText {
		mpost.Body = p.Body
		mpost.HTML = htmltemplate.HTML(absoluteLinks(markdown.StripAnchors(p.HTML), u)) // sanitised on write
	}
	return mpost
}

// replyURL is a mailto: link to the reader's reply address for a post
// (and a comment), with the subject "Re: TITLE"; "" when the site takes no
// mail or there is no reader.
func (s *Service) replyURL(userID, postID, commentID uint64, title string) string {
	addr := s.replyAddress(userID, postID, commentID)
	if addr == "" {
		return ""
	}
	return "mailto:" + addr + "?subject=" + strings.ReplaceAll(url.QueryEscape("Re: "+title), "+", "%20")
}

// replyAddress is Options.ReplyAddress, "" without it.
func (s *Service) replyAddress(userID, postID, commentID uint64) string {
	if s.opts.ReplyAddress == nil || userID == 0 {
		return ""
	}
	return s.opts.ReplyAddress(userID, postID, commentID)
}

func postURL(base, projectSlug, postSlug string) string {
	return base + "/p/" + url.PathEscape(projectSlug) + "/" + url.PathEscape(postSlug)
}

// mailHost is the host part of the base URL, for Message-ID and List-Id;
// "localhost" when there is none.
func mailHost(base string) string {
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// absoluteLinks resolves the relative href and src attributes of a
// sanitised HTML fragment against the post's URL: in a mail client, "/p/x"
// and "#fn:1" point nowhere. It returns the fragment unchanged when it
// does not parse.
func absoluteLinks(fragment, pageURL string) string {
	if !strings.Contains(fragment, "href=") && !strings.Contains(fragment, "src=") {
		return fragment
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return fragment
	}
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(fragment), ctx)
	if err != nil {
		return fragment
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for i, a := range n.Attr {
				if a.Namespace != "" || (a.Key != "href" && a.Key != "src") {
					continue
				}
				if ref, err := url.Parse(strings.TrimSpace(a.Val)); err == nil && !ref.IsAbs() {
					n.Attr[i].Val = base.ResolveReference(ref).String()
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	var b strings.Builder
	for _, n := range nodes {
		walk(n)
		if err := html.Render(&b, n); err != nil {
			return fragment
		}
	}
	return b.String()
}
