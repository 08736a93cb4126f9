package posts

import (
	"regexp"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
)

// Mentions.
//
// A post's or comment's body may @mention people by handle (the rules are
// markdown's: see markdown.Mentions). When the text is written — before the
// transaction opens — the handles are resolved with Options.Mentions; the
// ones it knows are rendered as links to /people/{handle} and their users'
// IDs are stored in Mentions, in the order they first appear. Unknown
// handles stay text. A handle never changes, so a re-render keeps the
// links that the text had (see linkedHandles) without asking again.
//
// Each write appends one "mention" event per user it newly mentions:
//
//	mention  {"user_id","post_id"} for a post, {"user_id","post_id","comment_id"}
//	         for a comment; the event's PostID is the post's.
//
// "Newly" means not already mentioned by the published text this write
// replaces: an edit that keeps a mention does not mention again. Drafts
// mention nobody; when a post is published (first or again), all its
// mentions count as new. Nobody is mentioned by their own text (neither the
// writer nor the post's or comment's author). The event is appended even
// when the person may not read the project (the editor warns first, see
// UnreadableMentions): whoever acts on it checks access at that time,
// since access may have changed by then.

// MentionResolver maps @mention handles to the users they name, as access
// actors (ID and admin flag), leaving out handles that name nobody (or a
// deactivated account). cmd/projblog wires it to the users package, which
// this package may not import. It is called outside any transaction of this
// package and must be safe for concurrent use.
type MentionResolver func(handles []string) map[string]access.Actor

// resolveMentions resolves the handles body mentions. Nil when there is no
// resolver or no mention.
func (s *Service) resolveMentions(body string) ([]string, map[string]access.Actor) {
	if s.resolve == nil {
		return nil, nil
	}
	handles := markdown.Mentions(body)
	if len(handles) == 0 {
		return nil, nil
	}
	return handles, s.resolve(handles)
}

// render renders body with the mentions the resolver knows as links, and
// returns the mentioned users' IDs in the order of first mention. It runs
// outside any transaction.
func (s *Service) render(body string) (html string, mentions []uint64, err error) {
	handles, known := s.resolveMentions(body)
	html, err = markdown.RenderWith(body, markdown.RenderOptions{Mention: func(h string) bool {
		_, ok := known[h]
		return ok
	}})
	if err != nil {
		return "", nil, apperr.Wrap(err, "render text")
	}
	for _, h := range handles {
		if a, ok := known[h]; ok && a.UserID != 0 && !slices.Contains(mentions, a.UserID) {
			mentions = append(mentions, a.UserID)
		}
	}
	return html, mentions, nil
}

// mentionLink matches the links markdown renders for mentions.
var mentionLink = regexp.MustCompile(`<a class="mention" href="/people/([a-z0-9._-]+)">`)

// linkedHandles returns, for a re-render of stored text, a Mention option
// that links exactly the handles that html (the text's current rendering)
// links: those resolved when the text was written.
func linkedHandles(html string) func(string) bool {
	linked := map[string]bool{}
	for _, m := range mentionLink.FindAllStringSubmatch(html, -1) {
		linked[m[1]] = true
	}
	return func(h string) bool { return linked[h] }
}

// rerender renders stored text again with the current renderer, keeping
// its mention links (see linkedHandles). It may run inside a transaction:
// it does not call the resolver.
func rerender(body, html string) (string, error) {
	return markdown.RenderWith(body, markdown.RenderOptions{Mention: linkedHandles(html)})
}

// mentionEvent is the Data of a "mention" event.
type mentionEvent struct {
	UserID    uint64 `json:"user_id"`
	PostID    uint64 `json:"post_id"`
	CommentID uint64 `json:"comment_id,omitempty"`
}

// emitMentions appends a "mention" event for each user in after that is not
// in before, nor the actor, nor authorID (the text's author).
func (s *Service) emitMentions(tx *bbolt.Tx, actor access.Actor, now time.Time, projectID, postID, commentID, authorID uint64, before, after []uint64) error {
	for _, uid := range after {
		if uid == actor.UserID || uid == authorID || slices.Contains(before, uid) {
			continue
		}
		if err := s.emit(tx, "mention", actor, now, projectID, postID, mentionEvent{UserID: uid, PostID: postID, CommentID: commentID}); err != nil {
			return err
		}
	}
	return nil
}

// mentionsAfterPostWrite appends the mention events of a post write (old is
// nil on create): none for a draft; on publication every mention; on an
// edit of a published post the mentions its previous text did not have.
// p.Mentions was resolved with the body, before the transaction.
func (s *Service) mentionsAfterPostWrite(tx *bbolt.Tx, actor access.Actor, sc *scope, old, p *postRec, now time.Time) error {
	if !p.published() {
		return nil
	}
	var before []uint64
	if old != nil && old.published() {
		before = old.Mentions
	}
	return s.emitMentions(tx, actor, now, sc.proj.ID, p.ID, 0, p.AuthorID, before, p.Mentions)
}

// UnreadableMentions returns the handles that body @mentions whose users
// may not read the project, in the order they first appear, so that the
// editor can warn before publishing ("@ada cannot read this project").
// Handles that name nobody are not listed (they stay text). It needs
// access.Read on the project (NotFound otherwise, as for every read); with
// no resolver it returns nothing. A body over MaxBodyBytes is TooLarge.
func (s *Service) UnreadableMentions(actor access.Actor, projectSlug, body string) ([]string, error) {
	if len(body) > MaxBodyBytes {
		return nil, errBodyTooLarge(len(body))
	}
	// Resolved before the transaction: the resolver reads the database
	// itself. Nothing of it is returned unless the actor may read the
	// project.
	handles, known := s.resolveMentions(body)
	var out []string
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		for _, h := range handles {
			a, ok := known[h]
			if !ok {
				continue
			}
			role, err := roleIn(tx, sc.proj.ID, a.UserID)
			if err != nil {
				return err
			}
			subj := access.Subject{ProjectID: sc.proj.ID, Visibility: sc.proj.Visibility, Archived: sc.proj.Archived, Role: role}
			if !access.CanRead(a, subj) {
				out = append(out, h)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
