package notify

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
)

// Following tags and posts.
//
// Besides projects (subscriptions.go), a person follows tags and posts,
// each with a Mode:
//
//   - A TAG is followed site-wide: "#security" means the posts tagged
//     security in every project the person may read at the time (a project
//     they may not read never shows, whatever they follow). A tag has no
//     default: nobody follows one until they choose to; Off removes the
//     choice. Tags are normalised (posts.NormalizeTag) before they are
//     stored, so "#Security" and "security" are one tag.
//   - A POST is followed for its comments. Its author follows it, and so
//     does everyone who comments on it or is @mentioned in it (in the post
//     or in one of its comments), Immediate, until they choose otherwise:
//     an explicit choice (Off included) always wins and is never changed
//     by later activity. These implicit follows are recorded by the
//     consumer of the event log (notices.go) as it reads the events
//     "post.published" (first publication: the author), "comment.added"
//     (the commenter) and "mention" (the person mentioned), in the same
//     transaction as the notices of that batch, so each is recorded once;
//     an author also follows a post published before this was recorded
//     (the default is read from the post's author).
//
// What a mode means:
//
//	Immediate  a notice, bundled with the person's others (notices.go):
//	           of every new post with the tag; of every new comment on
//	           the post (for the post's author, the notice "commented on
//	           your post"). The weekly digest also lists a followed tag's
//	           posts (the digest is the complete record of the week), but
//	           not the comments of a post followed Immediate, each of which
//	           was told at once.
//	Daily      the tag's new posts, or the post's new comments, in the
//	           daily digest (and not in the weekly one).
//	Weekly     the same in the weekly digest.
//	Off        nothing.
//
// A notice is never told twice for one event: a person hears of an event
// once, in its most specific form (a reply to their comment, a mention, a
// comment on their post, a comment on a post they follow; a new post in a
// project they follow, a new post with a tag they follow), and notices
// about the same comment in one message collapse into one (notices.go).
// A post listed under its project in a digest is not listed again under a
// tag.
//
// Key layouts (the reverse indexes change in the same transaction as the
// records):
//
//	notify.tagsubs       Key(userID) + tag                    -> the Mode, as text (never Off)
//	notify.tagfollowers  tag + 0x00 + Key(userID)             -> the Mode
//	notify.postsubs      Key(userID) + Key(postID)            -> postSub (JSON)
//	notify.postfollowers Key(postID) + Key(userID)            -> the Mode
//	notify.daily         Key(userID) + kind + Key(id) or tag  -> ""   one entry per subscription set to Daily,
//	                     kind 'p' project, 't' tag, 'o' post        so the scheduler finds who has a daily digest
//
// Events (ActorID the person), appended in the transaction of the write:
//
//	notify.tag_follow_set   {"tag","mode"}
//	notify.post_follow_set  {"mode"}, ProjectID and PostID set
//
// Implicit follows recorded by the consumer append no event: they are
// derived from events already in the log.

// Event types appended by this file.
const (
	EventTagFollowSet  = "notify.tag_follow_set"
	EventPostFollowSet = "notify.post_follow_set"
)

// Why a person follows a post they did not choose to follow.
const (
	FollowAuthor    = "author"    // they wrote it
	FollowCommenter = "commenter" // they commented on it
	FollowMentioned = "mentioned" // they were @mentioned in it or in a comment
)

// MaxFollowedTags bounds how many tags one person follows.
const MaxFollowedTags = 100

// postSub is a person's subscription to a post as stored.
type postSub struct {
	Mode      Mode      `json:"mode"`
	Why       string    `json:"why,omitempty"` // "" for an explicit choice, else FollowAuthor, ...
	ProjectID uint64    `json:"project_id"`
	At        time.Time `json:"at"`
}

// FollowedTag is a tag a person follows.
type FollowedTag struct {
	Tag  string
	Mode Mode // never Off
}

// FollowedPost is a post a person follows (or chose Off for), as
// FollowedPosts lists it.
type FollowedPost struct {
	Post    *posts.Post
	Project *posts.ProjectView
	Mode    Mode
	// Why is "" for an explicit choice, else why the person follows it
	// (FollowAuthor, FollowCommenter, FollowMentioned).
	Why string
	At  time.Time // when the subscription was recorded
}

// Explicit reports whether the person chose the mode.
func (f FollowedPost) Explicit() bool { return f.Why == "" }

var (
	bTagSubs       = []byte("notify.tagsubs")
	bTagFollowers  = []byte("notify.tagfollowers")
	bPostSubs      = []byte("notify.postsubs")
	bPostFollowers = []byte("notify.postfollowers")
	// bPostDigestSubs indexes the post subscriptions that go to a digest
	// (Daily or Weekly): Key(userID)+Key(postID) -> mode. Most post
	// follows are implicit and Immediate (every post one writes), so a
	// digest must not walk them all: an author of 30,000 API posts made
	// each digest page take a quarter of a second.
	bPostDigestSubs = []byte("notify.postdigestsubs")
	bDaily          = []byte("notify.daily")

	keyDailyIndexed = []byte("daily_indexed")
)

const (
	dailyProject = 'p'
	dailyTag     = 't'
	dailyPost    = 'o'
)

func tagSubKey(userID uint64, tag string) []byte { return append(store.Key(userID), tag...) }

func tagFollowerKey(tag string, userID uint64) []byte {
	return append(append([]byte(tag), 0), store.Key(userID)...)
}

func postSubKey(userID, postID uint64) []byte {
	return append(store.Key(userID), store.Key(postID)...)
}

func postFollowerKey(postID, userID uint64) []byte {
	return append(store.Key(postID), store.Key(userID)...)
}

func dailyKey(userID uint64, kind byte, id []byte) []byte {
	return append(append(store.Key(userID), kind), id...)
}

// setDaily keeps the daily index in step with one subscription's mode.
func setDaily(tx *bbolt.Tx, userID uint64, kind byte, id []byte, m Mode) error {
	k := dailyKey(userID, kind, id)
	if m == Daily {
		return tx.Bucket(bDaily).Put(k, nil)
	}
	return tx.Bucket(bDaily).Delete(k)
}

// hasDaily reports whether the person has any subscription set to Daily.
func hasDaily(tx *bbolt.Tx, userID uint64) bool {
	prefix := store.Key(userID)
	k, _ := tx.Bucket(bDaily).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// indexDaily builds the daily index from the project subscriptions on a
// database where it was never built (Daily could be chosen for a project
// before daily digests existed).
func (s *Service) indexDaily() error {
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta.Get(keyDailyIndexed) != nil {
			return nil
		}
		err := tx.Bucket(bSubs).ForEach(func(k, v []byte) error {
			if len(k) != 16 || Mode(v) != Daily {
				return nil
			}
			return setDaily(tx, store.U64(k[:8]), dailyProject, k[8:], Daily)
		})
		if err != nil {
			return err
		}
		return meta.Put(keyDailyIndexed, []byte{1})
	})
}

// TagMode returns how userID follows tag (normalised first): their
// choice, or Off. Errors: Invalid for a tag that cannot be valid.
func (s *Service) TagMode(userID uint64, tag string) (Mode, error) {
	t, err := posts.NormalizeTag(tag)
	if err != nil {
		return Off, err
	}
	m := Off
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bTagSubs).Get(tagSubKey(userID, t)); v != nil {
			m = Mode(v)
		}
		return nil
	})
	return m, err
}

// SetTagMode records the actor's choice of how to follow tag, site-wide
// (see the comment at the top of follow.go); Off removes it. Errors:
// Unauthorized for an anonymous actor (guests included); Invalid with
// Field "mode" for another mode, with Field "tags" for a tag that cannot
// be valid; Conflict when the person already follows MaxFollowedTags
// tags. The same mode again is a no-op without an event. Event:
// notify.tag_follow_set.
func (s *Service) SetTagMode(actor access.Actor, tag string, m Mode) error {
	if !actor.LoggedIn() {
		return apperr.New(apperr.Unauthorized, "Please log in to follow a tag.")
	}
	if !m.Valid() {
		return apperr.FieldErr("mode", "Please choose how to follow the tag: immediately, daily, weekly or off.")
	}
	t, err := posts.NormalizeTag(tag)
	if err != nil {
		return err
	}
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		subs, followers := tx.Bucket(bTagSubs), tx.Bucket(bTagFollowers)
		key := tagSubKey(actor.UserID, t)
		old := subs.Get(key)
		if (old == nil && m == Off) || bytes.Equal(old, []byte(m)) {
			return nil
		}
		if m == Off {
			if err := subs.Delete(key); err != nil {
				return err
			}
			if err := followers.Delete(tagFollowerKey(t, actor.UserID)); err != nil {
				return err
			}
		} else {
			if old == nil && countPrefix(subs, store.Key(actor.UserID)) >= MaxFollowedTags {
				return apperr.New(apperr.Conflict, "You follow %d tags already, the most one may; stop following one first.", MaxFollowedTags)
			}
			if err := subs.Put(key, []byte(m)); err != nil {
				return err
			}
			if err := followers.Put(tagFollowerKey(t, actor.UserID), []byte(m)); err != nil {
				return err
			}
		}
		if err := setDaily(tx, actor.UserID, dailyTag, []byte(t), m); err != nil {
			return err
		}
		return s.appendEvent(tx, EventTagFollowSet, actor.UserID, 0, map[string]any{"tag": t, "mode": m})
	})
}

func countPrefix(b *bbolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// FollowedTags returns the tags userID follows, by tag.
func (s *Service) FollowedTags(userID uint64) ([]FollowedTag, error) {
	var out []FollowedTag
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(userID)
		c := tx.Bucket(bTagSubs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out = append(out, FollowedTag{Tag: string(k[8:]), Mode: Mode(v)})
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read followed tags")
	}
	return out, nil
}

func readPostSub(tx *bbolt.Tx, userID, postID uint64) (*postSub, error) {
	v := tx.Bucket(bPostSubs).Get(postSubKey(userID, postID))
	if v == nil {
		return nil, nil
	}
	var ps postSub
	if err := json.Unmarshal(v, &ps); err != nil {
		return nil, apperr.Wrap(err, "decode the subscription of user %d to post %d", userID, postID)
	}
	return &ps, nil
}

func writePostSub(tx *bbolt.Tx, userID, postID uint64, ps *postSub) error {
	v, err := json.Marshal(ps)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bPostSubs).Put(postSubKey(userID, postID), v); err != nil {
		return err
	}
	if err := tx.Bucket(bPostFollowers).Put(postFollowerKey(postID, userID), []byte(ps.Mode)); err != nil {
		return err
	}
	if ps.Mode == Daily || ps.Mode == Weekly {
		err = tx.Bucket(bPostDigestSubs).Put(postSubKey(userID, postID), []byte(ps.Mode))
	} else {
		err = tx.Bucket(bPostDigestSubs).Delete(postSubKey(userID, postID))
	}
	if err != nil {
		return err
	}
	return setDaily(tx, userID, dailyPost, store.Key(postID), ps.Mode)
}

// PostMode returns how userID follows the post p: their recorded
// subscription (explicit, or implicit as its author, a commenter or a
// person mentioned), else Immediate for its author, else Off. why is ""
// for an explicit choice and for Off without any record.
func (s *Service) PostMode(userID uint64, p *posts.Post) (m Mode, why string, err error) {
	var ps *postSub
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		ps, err = readPostSub(tx, userID, p.ID)
		return err
	})
	if err != nil {
		return Off, "", err
	}
	switch {
	case ps != nil:
		return ps.Mode, ps.Why, nil
	case userID != 0 && p.AuthorID == userID:
		return Immediate, FollowAuthor, nil
	}
	return Off, "", nil
}

// SetPostMode records the actor's choice of how to follow the post's
// comments: Off, Immediate, Daily or Weekly; the choice is explicit from
// then on (later comments or mentions do not change it). Errors:
// Unauthorized for an anonymous actor (guests included); Invalid (Field
// "mode") for another mode; NotFound when the post is missing, a draft,
// in the trash, or not readable by the actor. The same explicit mode
// again is a no-op without an event. Event: notify.post_follow_set.
func (s *Service) SetPostMode(actor access.Actor, postID uint64, m Mode) error {
	if !actor.LoggedIn() {
		return apperr.New(apperr.Unauthorized, "Please log in to follow a post.")
	}
	if !m.Valid() {
		return apperr.FieldErr("mode", "Please choose how to follow the post: immediately, daily, weekly or off.")
	}
	p, _, err := s.posts.Post(actor, postID)
	if err != nil {
		return err
	}
	if p.Draft || !p.DeletedAt.IsZero() {
		return apperr.New(apperr.NotFound, "No such post.")
	}
	now := s.now()
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		old, err := readPostSub(tx, actor.UserID, postID)
		if err != nil {
			return err
		}
		if old != nil && old.Why == "" && old.Mode == m {
			return nil
		}
		if err := writePostSub(tx, actor.UserID, postID, &postSub{Mode: m, ProjectID: p.ProjectID, At: now}); err != nil {
			return apperr.Wrap(err, "store the subscription to post %d", postID)
		}
		_, err = s.db.AppendEvent(tx, store.Event{Type: EventPostFollowSet, Time: now, ActorID: actor.UserID,
			ProjectID: p.ProjectID, PostID: postID, Data: mustJSON(map[string]any{"mode": m})})
		return err
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and modes are passed
	}
	return b
}

// addImplicitPostSub records that userID follows the post Immediate for
// why, unless they have a record for it already (an explicit choice, or
// an earlier implicit follow). It reports whether it added one.
func addImplicitPostSub(tx *bbolt.Tx, userID, postID, projectID uint64, why string, at time.Time) (bool, error) {
	if tx.Bucket(bPostSubs).Get(postSubKey(userID, postID)) != nil {
		return false, nil
	}
	return true, writePostSub(tx, userID, postID, &postSub{Mode: Immediate, Why: why, ProjectID: projectID, At: at})
}

// FollowedPosts returns the posts userID follows or chose Off for, as
// recorded, newest subscription first, up to limit (<= 0: all), that they
// may still read and that are published and not in the trash, and how many
// records there are in all (readable or not). A post they wrote but have
// no record for (published before implicit follows were recorded) is not
// listed, though they follow it.
func (s *Service) FollowedPosts(userID uint64, limit int) ([]FollowedPost, int, error) {
	type rec struct {
		postID uint64
		ps     postSub
	}
	var recs []rec
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(userID)
		c := tx.Bucket(bPostSubs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var ps postSub
			if err := json.Unmarshal(v, &ps); err != nil || len(k) != 16 {
				continue
			}
			recs = append(recs, rec{store.U64(k[8:]), ps})
		}
		return nil
	})
	if err != nil {
		return nil, 0, apperr.Wrap(err, "read followed posts")
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if c := b.ps.At.Compare(a.ps.At); c != 0 {
			return c
		}
		return cmp.Compare(b.postID, a.postID)
	})
	u, err := s.users.ByID(userID)
	if err != nil {
		return nil, 0, err
	}
	actor := u.Actor()
	var out []FollowedPost
	for _, r := range recs {
		if limit > 0 && len(out) >= limit {
			break
		}
		p, pv, err := s.posts.Post(actor, r.postID)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if p.Draft || !p.DeletedAt.IsZero() {
			continue
		}
		out = append(out, FollowedPost{Post: p, Project: pv, Mode: r.ps.Mode, Why: r.ps.Why, At: r.ps.At})
	}
	return out, len(recs), nil
}

// postSubsWithMode returns the IDs of the posts userID follows with one of
// modes, Daily or Weekly (by explicit choice: implicit follows are
// Immediate), from the bPostDigestSubs index: O(what goes to a digest),
// not O(every post the person ever wrote or commented on).
func (s *Service) postSubsWithMode(userID uint64, modes ...Mode) ([]uint64, error) {
	var out []uint64
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(userID)
		c := tx.Bucket(bPostDigestSubs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) == 16 && slices.Contains(modes, Mode(v)) {
				out = append(out, store.U64(k[8:]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read followed posts")
	}
	return out, nil
}

// HasDaily reports whether userID follows anything (a project, a tag or a
// post) with the daily digest.
func (s *Service) HasDaily(userID uint64) (bool, error) {
	var ok bool
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		ok = hasDaily(tx, userID)
		return nil
	})
	return ok, err
}
