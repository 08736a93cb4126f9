package mailin

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// Delivery.
//
// A message arrives with its envelope: the sender (MAIL FROM, or --from of
// `projblog mail deliver`) and the recipients. Each recipient is checked
// when it is given (route: RCPT time), then the message is read,
// parsed and stored for each recipient (Deliver).
//
// Recipients:
//   - reply+TOKEN@Domain: a reply to a notice or digest entry (token.go).
//     Taken when the token is this site's, not older than ReplyTTL, its
//     person active and its post still there. The message's From must be
//     that person's address. The reply's own text (Message.Reply) becomes
//     their comment under the post — a reply in the comment's thread when
//     the token names a comment — with the files attached when they may
//     upload files in the project (else a note says which were left out).
//   - the project's address (Options.ProjectAddress): the project must take
//     mail (posts.Project.MailPosts not "off"). For a private or internal
//     project, the envelope sender must be someone who may read it: to
//     anyone else the address does not exist, as the project does not on
//     the web. The From address must be a person with an account who may
//     post in the project (a member). A message that answers one already
//     stored in the project (its In-Reply-To or References name a message
//     that became a post or comment there: the CC chain goes on) becomes a
//     comment under that post; any other becomes a post — or a draft, per
//     project — titled with the subject (reply prefixes dropped), with the
//     text without quoted history or signature (a forward's whole text:
//     postText), the files, and a last line
//     "CC: @handle, …" naming the other recipients who have an account, so
//     that they are told as any mention tells them.
//   - anything else at Domain: no such address. Other domains: not
//     relayed.
//
// A message is stored whole or refused with a reason; the reason reaches
// the sender as the SMTP answer, which their mail server returns to them
// in a bounce. Machine-written mail (Message.Auto: auto-replies,
// out-of-office, bulk, bounces) and mail from the site's own addresses are
// accepted and dropped without an answer, so that two robots never talk.
// The same message delivered twice is stored once (its Message-ID is the
// source key of what it became).
//
// Limits: Options.MaxBytes a message (default 25 MiB), a post body
// posts.MaxBodyBytes, a comment posts.MaxCommentBytes, files as
// posts.AddAttachment takes them (10 MiB each, 50 a post).

// Refusal is a recipient or message refused, with the SMTP answer that
// says why.
type Refusal struct {
	Code     int    // 550, 552, 554, or 451 for a temporary failure
	Enhanced [3]int // RFC 3463 status, such as 5.1.1
	Message  string // one line a person understands
}

func (r *Refusal) Error() string { return r.Message }

func refuse(code int, enh [3]int, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Enhanced: enh, Message: fmt.Sprintf(format, args...)}
}

// Answer maps any error of the bridge to the SMTP answer it deserves:
// a *Refusal as it is, an apperr by its code, anything else a temporary
// failure the sending server retries.
func Answer(err error) *Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	msg := apperr.MessageOf(err)
	switch apperr.CodeOf(err) {
	case apperr.NotFound:
		return refuse(550, [3]int{5, 1, 1}, "%s", msg)
	case apperr.Unauthorized, apperr.Forbidden:
		return refuse(550, [3]int{5, 7, 1}, "%s", msg)
	case apperr.TooLarge:
		return refuse(552, [3]int{5, 3, 4}, "%s", msg)
	case apperr.Invalid, apperr.Conflict:
		return refuse(550, [3]int{5, 6, 0}, "%s", msg)
	}
	return refuse(451, [3]int{4, 3, 0}, "projblog could not store the message just now; it will be taken when your server tries again.")
}

func errNoMailbox(addr string) *Refusal {
	return refuse(550, [3]int{5, 1, 1}, "No such address here: %s.", addr)
}

// Delivery is what one recipient's copy of a message became.
type Delivery struct {
	Recipient string
	// What is "comment", "post", "draft", or "ignored" (machine-written
	// mail, or mail from the site itself).
	What      string
	PostID    uint64
	CommentID uint64
	Reason    string // why it was ignored
}

// target is what one recipient address names.
type target struct {
	addr  string
	reply *replyToken
	user  *users.User // a reply's person, as route found them
	// project is the slug of the project: the address's, or the one of
	// the post a reply answers.
	project string
}

// route finds what an address names and whether it takes mail now.
func (s *Service) route(envelopeFrom, rcpt string) (*target, error) {
	addr := strings.ToLower(strings.Trim(strings.TrimSpace(rcpt), "<>"))
	local, domain, ok := strings.Cut(addr, "@")
	if !s.Enabled() {
		return nil, refuse(550, [3]int{5, 7, 1}, "This site takes no mail.")
	}
	if !ok || local == "" {
		return nil, refuse(501, [3]int{5, 1, 3}, "%q is not an e-mail address.", rcpt)
	}
	if tok, ok := strings.CutPrefix(local, replyLocal); ok && domain == s.opts.Domain {
		t, err := s.checkReplyToken(tok)
		if err != nil {
			return nil, err
		}
		t.addr = addr
		return t, nil
	}
	if slug, ok := s.projectOf(addr); ok {
		if err := s.checkProject(envelopeFrom, slug, addr); err != nil {
			return nil, err
		}
		return &target{addr: addr, project: slug}, nil
	}
	if domain != s.opts.Domain {
		return nil, refuse(550, [3]int{5, 7, 1}, "This server takes mail only for @%s; it relays nothing.", s.opts.Domain)
	}
	return nil, errNoMailbox(addr)
}

// checkReplyToken reads a reply token and checks that it may still be
// answered: its age, its person, its post. The target it returns carries
// the person and the post's project for the delivery.
func (s *Service) checkReplyToken(tok string) (*target, error) {
	secret, err := s.replySecret()
	if err != nil {
		return nil, err
	}
	t, err := decodeReplyToken(secret, tok)
	if err != nil {
		return nil, refuse(550, [3]int{5, 1, 1}, "%s", apperr.MessageOf(err))
	}
	u, err := s.users.ByID(t.UserID)
	if err != nil || !u.Active {
		return nil, refuse(550, [3]int{5, 1, 1}, "This reply address belongs to an account that is no longer active.")
	}
	post, pv, err := s.posts.Post(u.Actor(), t.PostID)
	if err != nil {
		return nil, refuse(550, [3]int{5, 1, 1}, "The post this reply address answers no longer exists, or you may no longer read it.")
	}
	if s.now().Sub(t.issued()) > s.opts.ReplyTTL {
		return nil, refuse(550, [3]int{5, 1, 1}, "This reply address has expired: replies by e-mail are taken for %d days after the message. Comment on the post's page instead: %s",
			int(s.opts.ReplyTTL/(24*time.Hour)), s.postURL(pv.Slug, post.Slug))
	}
	return &target{reply: &t, user: u, project: pv.Slug}, nil
}

func (s *Service) postURL(projectSlug, postSlug string) string {
	return strings.TrimSuffix(s.opts.BaseURL, "/") + "/p/" + projectSlug + "/" + postSlug
}

// projectOf returns the slug of a project address (not checked).
func (s *Service) projectOf(addr string) (string, bool) {
	if s.addrPrefix == "" && s.addrSuffix == "" {
		return "", false
	}
	mid, ok := strings.CutPrefix(addr, s.addrPrefix)
	if !ok {
		return "", false
	}
	slug, ok := strings.CutSuffix(mid, s.addrSuffix)
	if !ok || slug == "" || strings.ContainsAny(slug, "@+") {
		return "", false
	}
	return slug, true
}

// checkProject tells whether the project at addr takes mail from the
// envelope sender: it exists, takes mail, and (private or internal) the
// sender may read it. Every "no" to an outsider is the same "no such
// address".
func (s *Service) checkProject(envelopeFrom, slug, addr string) error {
	actor := access.Actor{}
	if u, err := s.users.ByEmail(envelopeAddress(envelopeFrom)); err == nil && u.Active {
		actor = u.Actor()
	}
	pv, err := s.posts.Project(actor, slug)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Unauthorized) || apperr.Is(err, apperr.Forbidden) {
			return errNoMailbox(addr)
		}
		return err
	}
	if pv.MailPosts == posts.MailOff || pv.Archived {
		return refuse(550, [3]int{5, 7, 1}, "The project %q takes no mail.", pv.Name)
	}
	return nil
}

// envelopeAddress is the bare address of an envelope sender ("<a@b>",
// "a@b", "" for the null sender).
func envelopeAddress(s string) string {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.ToLower(a.Address)
	}
	return strings.ToLower(strings.Trim(s, "<>"))
}

// Deliver reads one message and stores it for each recipient. It returns
// what each copy became, or the first refusal (a *Refusal or an error
// Answer maps); copies stored before a refusal stay stored, and a retry
// of the same message does not store them twice.
func (s *Service) Deliver(envelopeFrom string, rcpts []string, r io.Reader) ([]Delivery, error) {
	if len(rcpts) == 0 {
		return nil, refuse(554, [3]int{5, 5, 1}, "The message has no recipient.")
	}
	targets := make([]*target, 0, len(rcpts))
	for _, rc := range rcpts {
		t, err := s.route(envelopeFrom, rc)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	return s.deliver(envelopeFrom, targets, r)
}

// deliver reads one message and stores it for each routed recipient (the
// SMTP listener routes them at RCPT time, Deliver before this).
func (s *Service) deliver(envelopeFrom string, targets []*target, r io.Reader) ([]Delivery, error) {
	msg, err := Parse(r, s.opts.MaxBytes)
	if err != nil {
		return nil, Answer(err)
	}
	var out []Delivery
	if why := s.ignore(envelopeFrom, msg); why != "" {
		for _, t := range targets {
			out = append(out, Delivery{Recipient: t.addr, What: "ignored", Reason: why})
		}
		s.log.Info("mail ignored", "from", msg.From.Email, "message_id", msg.MessageID, "reason", why)
		return out, nil
	}
	for _, t := range targets {
		var d Delivery
		var err error
		if t.reply != nil {
			d, err = s.deliverReply(msg, t)
		} else {
			d, err = s.deliverToProject(msg, t)
		}
		if err != nil {
			s.log.Info("mail refused", "from", msg.From.Email, "to", t.addr, "message_id", msg.MessageID, "reason", Answer(err).Message)
			return out, err
		}
		s.log.Info("mail stored", "from", msg.From.Email, "to", t.addr, "message_id", msg.MessageID, "as", d.What, "post", d.PostID, "comment", d.CommentID)
		out = append(out, d)
	}
	return out, nil
}

// ignore says why a message is dropped without an answer, "" to keep it.
func (s *Service) ignore(envelopeFrom string, msg *Message) string {
	if msg.Auto != "" {
		return msg.Auto
	}
	if e := strings.TrimSpace(envelopeFrom); e == "<>" {
		return "null envelope sender (a bounce or report)"
	}
	if strings.HasSuffix(msg.From.Email, "@"+s.opts.Domain) {
		return "sent from this site's own address"
	}
	return ""
}

// deliverReply stores a reply to a notice as a comment.
func (s *Service) deliverReply(msg *Message, t *target) (Delivery, error) {
	d := Delivery{Recipient: t.addr}
	if !strings.EqualFold(msg.From.Email, t.user.Email) {
		return d, refuse(550, [3]int{5, 7, 1}, "This reply address was made for someone else, not for %s: reply from the address the message was sent to, or comment on the post's page.", msg.From.Email)
	}
	// AddComment checks again, in its transaction, that the person may
	// still comment there.
	c, err := s.comment(t.user.Actor(), msg, t.project, t.reply.PostID, t.reply.CommentID)
	if err != nil {
		return d, err
	}
	return Delivery{Recipient: t.addr, What: "comment", PostID: t.reply.PostID, CommentID: c.ID}, nil
}

// comment stores the message as the actor's comment under a post (in the
// thread of parentID when it is a live comment of the post).
func (s *Service) comment(actor access.Actor, msg *Message, projectSlug string, postID, parentID uint64) (*posts.Comment, error) {
	body := strings.TrimSpace(msg.Reply)
	if body == "" && len(msg.Files) == 0 {
		return nil, refuse(550, [3]int{5, 6, 0}, "The reply has no text of its own, only the message it answers; nothing was added.")
	}
	if len(body) > posts.MaxCommentBytes {
		return nil, refuse(552, [3]int{5, 3, 4}, "The reply is too long for a comment: at most %d KB of text.", posts.MaxCommentBytes>>10)
	}
	at, err := attachFiles(s.posts, actor, projectSlug, msg.Files)
	if err != nil {
		return nil, err
	}
	in := posts.CommentInput{Body: at.withText(body), ParentID: parentID, Key: MessageKey(msg)}
	c, err := s.posts.AddComment(actor, postID, in)
	if err != nil && parentID != 0 && fieldOf(err) == "parent_id" {
		in.ParentID = 0 // the comment answered is gone: a comment of its own
		c, err = s.posts.AddComment(actor, postID, in)
	}
	if err != nil {
		at.discard()
		return nil, err
	}
	return c, nil
}

// deliverToProject stores mail to a project's address: a comment when it
// answers a message already stored there, else a post or a draft.
func (s *Service) deliverToProject(msg *Message, t *target) (Delivery, error) {
	d := Delivery{Recipient: t.addr}
	u, err := s.users.ByEmail(msg.From.Email)
	if err != nil || !u.Active {
		return d, refuse(550, [3]int{5, 7, 1}, "Only members of the project may post to it by e-mail, and %s has no account here.", msg.From.Email)
	}
	actor := u.Actor()
	pv, err := s.posts.Project(actor, t.project)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return d, errNoMailbox(t.addr)
		}
		return d, err
	}
	if postID, commentID, err := s.posts.SourceTarget(actor, pv.Slug, threadKeys(msg)...); err != nil {
		return d, err
	} else if postID != 0 {
		c, err := s.comment(actor, msg, pv.Slug, postID, commentID)
		if err != nil {
			return d, err
		}
		return Delivery{Recipient: t.addr, What: "comment", PostID: postID, CommentID: c.ID}, nil
	}
	if !pv.Can(actor, access.Post) {
		return d, refuse(550, [3]int{5, 7, 1}, "Only members of %q may post to it by e-mail; ask one of its owners to add you.", pv.Name)
	}
	body := postText(msg)
	if cc := s.ccLine(msg, u); cc != "" {
		body += "\n\n" + cc
	}
	if len(body) > posts.MaxBodyBytes {
		return d, refuse(552, [3]int{5, 3, 4}, "The message is too long for a post: at most %d KB of text.", posts.MaxBodyBytes>>10)
	}
	at, err := attachFiles(s.posts, actor, pv.Slug, msg.Files)
	if err != nil {
		return d, err
	}
	draft := pv.MailPosts == posts.MailDraft
	in := posts.PostInput{Title: mailTitle(msg.Subject), Body: at.withText(body), Draft: draft, Key: MessageKey(msg)}
	if strings.TrimSpace(in.Body) == "" {
		in.Body = "_(The message had no text.)_"
	}
	p, err := s.posts.CreatePost(actor, pv.Slug, in)
	if err != nil {
		at.discard()
		return d, err
	}
	d.What, d.PostID = "post", p.ID
	if p.Draft {
		d.What = "draft"
	}
	return d, nil
}

// postText is the text of a message that starts a post: what it adds
// (Message.Reply) — but the whole text of a forward ("Fwd:", "TR :", …),
// whose forwarded message is the point, and which some clients (Outlook)
// mark up exactly as a quoted reply; the whole text too when the message
// adds nothing of its own.
func postText(m *Message) string {
	reply := strings.TrimSpace(m.Reply)
	if reply == "" || forwardPrefix.MatchString(m.Subject) {
		return strings.TrimSpace(m.Body)
	}
	return reply
}

// forwardPrefix matches a subject that forwards another message: Fwd:,
// FW:, TR : (French), WG: (German), RV: (Spanish), after list tags.
var forwardPrefix = regexp.MustCompile(`(?i)^\s*(?:\[[^\]]*\]\s*)*(?:fwd?|tr|wg|rv|enc)\s*:`)

// threadKeys are the source keys of the messages a message answers, the
// nearest first: In-Reply-To, then References from the last.
func threadKeys(msg *Message) []string {
	var keys []string
	for _, id := range msg.InReplyTo {
		keys = append(keys, idKey(id))
	}
	refs := slices.Clone(msg.References)
	slices.Reverse(refs)
	for _, id := range refs {
		keys = append(keys, idKey(id))
	}
	return slices.Compact(keys)
}

// mailTitle is a post title from a subject: reply prefixes dropped, cut
// to posts.MaxTitleRunes, "(no subject)" when nothing is left.
func mailTitle(subject string) string {
	t := NormalizeSubject(cleanLine(subject))
	if t == "" {
		return "(no subject)"
	}
	if utf8.RuneCountInString(t) > posts.MaxTitleRunes {
		t = string([]rune(t)[:posts.MaxTitleRunes-1]) + "…"
	}
	return t
}

// ccLine names, as @mentions, the other recipients of a message who have
// an active account ("" when there are none).
func (s *Service) ccLine(msg *Message, sender *users.User) string {
	var handles []string
	seen := map[string]bool{sender.Email: true}
	for _, a := range slices.Concat(msg.To, msg.Cc) {
		if seen[a.Email] || strings.HasSuffix(a.Email, "@"+s.opts.Domain) {
			continue
		}
		seen[a.Email] = true
		if u, err := s.users.ByEmail(a.Email); err == nil && u.Active {
			handles = append(handles, "@"+u.Handle)
		}
	}
	if len(handles) == 0 {
		return ""
	}
	return "CC: " + strings.Join(handles, ", ")
}

// splitProjectAddress checks a project address form and returns what
// comes before and after {slug}.
func splitProjectAddress(form, domain string) (string, string, error) {
	form = strings.ToLower(strings.TrimSpace(form))
	pre, suf, ok := strings.Cut(form, "{slug}")
	if !ok || strings.Contains(suf, "{slug}") {
		return "", "", apperr.New(apperr.Invalid, "The project address %q needs {slug} once, where the project's slug goes (such as {slug}@%s).", form, domain)
	}
	if !strings.Contains(suf, "@") {
		return "", "", apperr.New(apperr.Invalid, "The project address %q needs its domain after {slug} (such as {slug}@%s).", form, domain)
	}
	if strings.HasPrefix(pre, replyLocal) {
		return "", "", apperr.New(apperr.Invalid, "The project address %q may not start with %q: reply addresses use it.", form, replyLocal)
	}
	return pre, suf, nil
}

// fieldOf is the form field an apperr names, "" for none.
func fieldOf(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Field
	}
	return ""
}
