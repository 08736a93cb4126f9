package notify

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/markdown"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// Composing a message of immediate notices.
//
// The message is rendered from the theme's mail/notice.txt and
// mail/notice.html, given a noticeMail (the vocabulary of mailText, see
// mail.go); every word is an i18n key "mail.notice.*" in the reader's
// language, every time in their time zone. The notices are grouped by
// post, in the order of each post's first notice; each line says who did
// what, when, with an absolute link: the post, its comment
// (/p/PROJECT/POST#comment-ID) or its acknowledgements (#acks).
//
// The subject names the one thing for a single notice ("Ada Lovelace
// mentioned you in “Launch plan”"), else counts them: "3 updates in
// Apollo: “Launch plan”, “Test bench”" (at most three titles, then "…"),
// or "… in 2 projects: …" across projects.
//
// Headers: Message-ID <notice.USERID.FIRSTSEQ@HOST> (unique: the notice
// with that sequence number is deleted when the message is enqueued);
// In-Reply-To and References <post.POSTID@HOST> when every notice is
// about one post, so that a mail client threads all the notices about a
// post together; List-Id <PROJECTSLUG.HOST> when every notice is in one
// project, else <notices.HOST>; List-Unsubscribe and
// List-Unsubscribe-Post as the digest has them; Auto-Submitted:
// auto-generated and Precedence: list (no auto-replies to it). When the
// site takes mail (Options.ReplyAddress), each post's group carries a
// "reply by e-mail" link to the reader's reply address for it (for the
// comment, when the group tells of one comment), and a message about one
// post has that address as Reply-To: answering the notice comments.

// noticeMail is what the notice templates receive.
type noticeMail struct {
	mailText
	Subject string
	Name    string // the reader's display name
	Groups  []*noticeGroup

	SettingsURL, UnsubscribeURL string
}

// noticeGroup is the notices about one post.
type noticeGroup struct {
	Title, URL          string // the post
	Project, ProjectURL string
	Lines               []noticeLine
	// ReplyURL is a mailto: link to the reader's reply address ("" when
	// the site takes no mail).
	ReplyURL string

	postID, projectID uint64
	commentIDs        []uint64 // the comment each line is about, 0 for none
	replyAddr         string
}

// noticeLine is one notice in the message.
type noticeLine struct {
	Text    string // "Ada Lovelace replied to your comment"
	At      time.Time
	URL     string
	Excerpt string // the comment, or the post's summary for a new post or a mention in it
}

// resolvedNotice is a notice with what it points at, read as the reader.
type resolvedNotice struct {
	Notice
	post    *posts.Post
	project *posts.ProjectView
	comment *posts.Comment
}

// composeNotice renders the notices as one message to u, or returns nil
// when none of them can be told any more (the post or comment is gone or
// unreadable to u). firstSeq names the message (Message-ID).
func (s *Service) composeNotice(u *users.User, firstSeq uint64, notices []Notice) (*Message, error) {
	items, err := s.resolveNotices(u, notices)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	lang := u.Language
	if !i18n.Supported(lang) {
		lang = "en"
	}
	base := strings.TrimSuffix(s.opts.BaseURL, "/")
	unsub, err := s.unsubscribeToken(u.ID)
	if err != nil {
		return nil, err
	}
	v := &noticeMail{
		mailText:       mailText{Lang: lang, loc: u.Location()},
		Name:           u.Name,
		SettingsURL:    base + "/settings#notify-h",
		UnsubscribeURL: base + "/unsubscribe/" + unsub,
	}

	actorIDs := make([]uint64, 0, len(items))
	for _, it := range items {
		actorIDs = append(actorIDs, it.ActorID)
	}
	actors, err := s.users.ByIDs(actorIDs)
	if err != nil {
		return nil, err
	}
	name := func(id uint64) string {
		if a := actors[id]; a != nil {
			return a.Name
		}
		return v.T("mail.notice.someone")
	}

	groups := map[uint64]*noticeGroup{}
	for _, it := range items {
		g := groups[it.PostID]
		if g == nil {
			g = &noticeGroup{Title: it.post.Title, URL: postURL(base, it.project.Slug, it.post.Slug),
				Project: it.project.Name, ProjectURL: base + "/p/" + url.PathEscape(it.project.Slug),
				postID: it.PostID, projectID: it.project.ID}
			groups[it.PostID] = g
			v.Groups = append(v.Groups, g)
		}
		g.Lines = append(g.Lines, noticeLineOf(v, g.URL, name(it.ActorID), it))
		var cid uint64
		if it.comment != nil {
			cid = it.comment.ID
		}
		g.commentIDs = append(g.commentIDs, cid)
	}
	for _, g := range v.Groups {
		var cid uint64 // a reply answers the comment when the group tells of one
		if len(g.commentIDs) == 1 {
			cid = g.commentIDs[0]
		}
		g.replyAddr = s.replyAddress(u.ID, g.postID, cid)
		g.ReplyURL = s.replyURL(u.ID, g.postID, cid, g.Title)
	}

	v.Subject = noticeSubject(v, items, name)
	var txt, htm bytes.Buffer
	if err := noticeTextTmpl.Execute(&txt, v); err != nil {
		return nil, apperr.Wrap(err, "render the notice's text part")
	}
	if err := noticeHTMLTmpl.Execute(&htm, v); err != nil {
		return nil, apperr.Wrap(err, "render the notice's HTML part")
	}

	host := mailHost(base)
	h := map[string]string{
		"Message-ID":       "<notice." + strconv.FormatUint(u.ID, 10) + "." + strconv.FormatUint(firstSeq, 10) + "@" + host + ">",
		"Date":             s.now().In(v.loc).Format(time.RFC1123Z),
		"List-Id":          "<notices." + host + ">",
		"List-Unsubscribe": "<" + v.UnsubscribeURL + ">",
		"Auto-Submitted":   "auto-generated",
		"Precedence":       "list",
	}
	if len(v.Groups) == 1 {
		ref := "<post." + strconv.FormatUint(v.Groups[0].postID, 10) + "@" + host + ">"
		h["In-Reply-To"], h["References"] = ref, ref
		if a := v.Groups[0].replyAddr; a != "" {
			h["Reply-To"] = a
		}
	}
	oneProject := true
	for _, g := range v.Groups[1:] {
		oneProject = oneProject && g.projectID == v.Groups[0].projectID
	}
	if oneProject {
		h["List-Id"] = "<" + items[0].project.Slug + "." + host + ">"
	}
	if strings.HasPrefix(v.UnsubscribeURL, "https://") {
		h["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	return &Message{To: u.Email, Subject: v.Subject, Text: txt.String(), HTML: htm.String(), Headers: h}, nil
}

// resolveNotices reads each notice's post (and comment) as u sees them
// now, leaving out what u may no longer read, drafts, posts in the trash
// and deleted comments, and collapses the notices about one post (no
// comment) or one comment into the most specific kind, in the place of
// the first.
func (s *Service) resolveNotices(u *users.User, notices []Notice) ([]*resolvedNotice, error) {
	actor := u.Actor()
	type postRead struct {
		p  *posts.Post
		pv *posts.ProjectView
	}
	readPosts := map[uint64]*postRead{}
	var out []*resolvedNotice
	index := map[[2]uint64]int{} // post, comment -> position in out
	for _, n := range notices {
		pr, ok := readPosts[n.PostID]
		if !ok {
			p, pv, err := s.posts.Post(actor, n.PostID)
			switch {
			case apperr.Is(err, apperr.NotFound):
			case err != nil:
				return nil, err
			case !p.Draft && p.DeletedAt.IsZero():
				pr = &postRead{p, pv}
			}
			readPosts[n.PostID] = pr
		}
		if pr == nil {
			continue
		}
		it := &resolvedNotice{Notice: n, post: pr.p, project: pr.pv}
		if n.CommentID != 0 {
			c, _, _, err := s.posts.Comment(actor, n.CommentID)
			if apperr.Is(err, apperr.NotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			it.comment = c
		}
		key := [2]uint64{n.PostID, n.CommentID}
		if i, ok := index[key]; ok {
			if n.Kind.rank() > out[i].Kind.rank() {
				out[i].Kind, out[i].ActorID = n.Kind, n.ActorID
			}
			continue
		}
		index[key] = len(out)
		out = append(out, it)
	}
	return out, nil
}

func noticeLineOf(v *noticeMail, postLink, actor string, it *resolvedNotice) noticeLine {
	l := noticeLine{At: it.At, URL: postLink}
	if it.comment != nil {
		l.URL += "#comment-" + strconv.FormatUint(it.comment.ID, 10)
		l.Excerpt = markdown.Excerpt(it.comment.Body, 200)
	}
	switch it.Kind {
	case NoticeMention:
		if it.comment != nil {
			l.Text = v.T("mail.notice.line.mention_comment", actor)
		} else {
			l.Text = v.T("mail.notice.line.mention_post", actor)
			l.Excerpt = it.post.Summary
		}
	case NoticeAck:
		l.Text = v.T("mail.notice.line.ack", actor)
		l.URL = postLink + "#acks"
	case NoticeReply:
		l.Text = v.T("mail.notice.line.reply", actor)
	case NoticeComment:
		l.Text = v.T("mail.notice.line.comment", actor)
	case NoticeFollow:
		l.Text = v.T("mail.notice.line.follow", actor)
	case NoticeTag:
		l.Text = v.T("mail.notice.line.tag", actor, it.Tag)
		l.Excerpt = it.post.Summary
	default:
		l.Text = v.T("mail.notice.line.post", actor)
		l.Excerpt = it.post.Summary
	}
	return l
}

// maxSubjectTitles is how many post titles a subject lists.
const maxSubjectTitles = 3

func noticeSubject(v *noticeMail, items []*resolvedNotice, name func(uint64) string) string {
	if len(items) == 1 {
		it := items[0]
		actor, title := name(it.ActorID), it.post.Title
		switch it.Kind {
		case NoticeMention:
			return v.T("mail.notice.subject.mention", actor, title)
		case NoticeAck:
			return v.T("mail.notice.subject.ack", actor, title)
		case NoticeReply:
			return v.T("mail.notice.subject.reply", actor, title)
		case NoticeComment, NoticeFollow:
			return v.T("mail.notice.subject.comment", actor, title)
		case NoticeTag:
			return v.T("mail.notice.subject.tag", actor, title, it.Tag)
		}
		return v.T("mail.notice.subject.post", actor, title, it.project.Name)
	}
	var titles []string
	var projects []uint64
	for _, g := range v.Groups {
		if len(titles) < maxSubjectTitles {
			titles = append(titles, v.T("mail.notice.quoted", g.Title))
		} else if len(titles) == maxSubjectTitles {
			titles = append(titles, "…")
		}
		if !slices.Contains(projects, g.projectID) {
			projects = append(projects, g.projectID)
		}
	}
	updates := v.N("mail.notice.updates", len(items))
	if len(projects) == 1 {
		return v.T("mail.notice.subject.many", updates, v.Groups[0].Project, strings.Join(titles, ", "))
	}
	return v.T("mail.notice.subject.many_projects", updates, v.N("mail.notice.projects", len(projects)), strings.Join(titles, ", "))
}
