package posts

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Acknowledgements and "seen by".
//
// An author (or a project owner) asks named people, or every member, to
// acknowledge a published post; each of them confirms once. Requests are
// kept for good: an open one is listed on the person's page (WaitingFor)
// until they acknowledge, and the post shows who has and who has not.
// Unpublishing or deleting the post hides its open requests from
// WaitingFor without dropping them, so a re-publish or restore brings them
// back.
//
// Key layouts:
//
//	bAcks        Key(postID) + Key(userID)                 -> ackRec (JSON)
//	bAcksWaiting Key(userID) + TimeKey(RequestedAt, postID) -> Key(pid); open requests only
//	bSeen        Key(postID) + Key(userID)                 -> Key(UnixNano of first sight)
//
// Events (ProjectID and PostID set, ActorID the actor):
//
//	ack.requested {"user_id"}                  one per newly asked person
//	ack.given     {"user_id","requested_by"}
//	post.seen     {"user_id"}                  first sight, only with Project.SeenBy on
//
// post.seen moves the log head, and so expires cached pages, once per
// reader and post in the projects that turned the option on: the price of
// a "seen by" list that is never stale.

// Ack is one acknowledgement request on a post: whom it asks, who asked
// and when, and when it was given (AckedAt is zero while it is open).
type Ack struct {
	UserID, RequestedBy  uint64
	RequestedAt, AckedAt time.Time
}

// Seen is one reader's first sight of a post.
type Seen struct {
	UserID uint64
	At     time.Time
}

type ackRec struct {
	RequestedBy uint64    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	AckedAt     time.Time `json:"acked_at,omitzero"`
}

func ackKey(postID, userID uint64) []byte { return cat(store.Key(postID), store.Key(userID)) }

func waitingKey(userID uint64, r *ackRec, postID uint64) []byte {
	return cat(store.Key(userID), store.TimeKey(r.RequestedAt, postID))
}

func errNotPublished() error {
	return apperr.New(apperr.Conflict, "This post is not published.")
}

// RequestAcks asks people to acknowledge a published post: the users
// named, and with allMembers every current member of the project (viewers,
// members and owners) except the post's author. The author is never asked
// (naming them is ignored); people already asked, whether or not they have
// acknowledged, are left as they are. It needs what editing the post needs
// (access.EditOwn for the author, access.EditOthers otherwise).
//
// Errors: NotFound when the actor may not see the post; Forbidden or
// Unauthorized; Conflict when the post is a draft or in the trash; Invalid
// with Field "ack" when nobody is named, or when some named users cannot
// read the project (a non-member of a private project; the message says
// how many) — then nobody is asked. The caller resolves e-mails or handles
// to user IDs; this package does not know users, so it judges each ID by
// its membership and the project's visibility alone (an administrator who
// is not a member of a private project counts as unable to read it).
// Event: ack.requested for each newly asked person.
func (s *Service) RequestAcks(actor access.Actor, postID uint64, userIDs []uint64, allMembers bool) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, editAction(actor, p.AuthorID), "Only the post's author or a project owner may ask for acknowledgements."); err != nil {
			return err
		}
		if !p.DeletedAt.IsZero() {
			return errTrashed()
		}
		if p.Draft {
			return apperr.New(apperr.Conflict, "Publish the post before asking for acknowledgements.")
		}
		return s.requestAcks(tx, actor, sc, p, userIDs, allMembers, now)
	})
}

// requestAcks is RequestAcks inside tx, after the access checks; the post
// is published.
func (s *Service) requestAcks(tx *bbolt.Tx, actor access.Actor, sc *scope, p *postRec, userIDs []uint64, allMembers bool, now time.Time) error {
	if len(userIDs) == 0 && !allMembers {
		return apperr.FieldErr("ack", "Please choose who should acknowledge the post.")
	}
	pid := sc.proj.ID
	var targets []uint64
	seen := map[uint64]bool{p.AuthorID: true}
	unreadable, named := 0, 0
	for _, uid := range userIDs {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		named++
		role, err := roleIn(tx, pid, uid)
		if err != nil {
			return err
		}
		subj := access.Subject{ProjectID: sc.proj.ID, Visibility: sc.proj.Visibility, Archived: sc.proj.Archived, Role: role}
		if uid == 0 || !access.CanRead(access.Actor{UserID: uid}, subj) {
			unreadable++
			continue
		}
		targets = append(targets, uid)
	}
	switch {
	case unreadable == 1 && named == 1:
		return apperr.FieldErr("ack", "The person you named cannot read this project; add them as a member first, or leave them out.")
	case unreadable > 0:
		return apperr.FieldErr("ack", "%d of the %d people you named cannot read this project; add them as members first, or leave them out.", unreadable, named)
	}
	if allMembers {
		prefix := store.Key(pid)
		c := tx.Bucket(bMembers).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			uid := store.U64(k[len(prefix):])
			if !seen[uid] {
				seen[uid] = true
				targets = append(targets, uid)
			}
		}
	}

	acks := tx.Bucket(bAcks)
	for _, uid := range targets {
		key := ackKey(p.ID, uid)
		if acks.Get(key) != nil {
			continue
		}
		r := &ackRec{RequestedBy: actor.UserID, RequestedAt: now}
		if err := putJSON(acks, key, r); err != nil {
			return err
		}
		if err := tx.Bucket(bAcksWaiting).Put(waitingKey(uid, r, p.ID), store.Key(pid)); err != nil {
			return apperr.Wrap(err, "store open acknowledgement")
		}
		if err := s.emit(tx, "ack.requested", actor, now, pid, p.ID, map[string]any{"user_id": uid}); err != nil {
			return err
		}
	}
	return nil
}

// Acknowledge records that the actor has read and acknowledges a post
// they were asked to acknowledge. It needs access.Discuss (any signed-in
// reader of a project that is not archived). Acknowledging again is a
// no-op. Errors: NotFound when the actor may not see the post;
// Unauthorized for an anonymous actor; Forbidden in an archived project;
// Conflict when the post is not published or nobody asked the actor
// ("Nobody asked you to acknowledge this post."). Event: ack.given.
func (s *Service) Acknowledge(actor access.Actor, postID uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.Discuss, "You may not acknowledge posts in this project."); err != nil {
			return err
		}
		if !p.published() {
			return errNotPublished()
		}
		acks := tx.Bucket(bAcks)
		key := ackKey(p.ID, actor.UserID)
		var r ackRec
		ok, err := getJSON(acks, key, &r)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.New(apperr.Conflict, "Nobody asked you to acknowledge this post.")
		}
		if !r.AckedAt.IsZero() {
			return nil
		}
		if err := tx.Bucket(bAcksWaiting).Delete(waitingKey(actor.UserID, &r, p.ID)); err != nil {
			return apperr.Wrap(err, "delete open acknowledgement")
		}
		r.AckedAt = now
		if err := putJSON(acks, key, &r); err != nil {
			return err
		}
		return s.emit(tx, "ack.given", actor, now, p.ProjectID, p.ID, map[string]any{
			"user_id": actor.UserID, "requested_by": r.RequestedBy,
		})
	})
}

// Acks returns every acknowledgement request on a post: the open ones
// first, oldest request first, then the given ones in the order they were
// given. Whoever may see the post may see them (NotFound otherwise).
func (s *Service) Acks(actor access.Actor, postID uint64) ([]Ack, error) {
	var out []Ack
	err := s.view(func(tx *bbolt.Tx) error {
		p, _, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		prefix := store.Key(p.ID)
		c := tx.Bucket(bAcks).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var r ackRec
			if err := json.Unmarshal(v, &r); err != nil {
				return apperr.Wrap(err, "decode acknowledgement %x", k)
			}
			out = append(out, Ack{UserID: store.U64(k[len(prefix):]), RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt, AckedAt: r.AckedAt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Ack) int {
		aOpen, bOpen := a.AckedAt.IsZero(), b.AckedAt.IsZero()
		switch {
		case aOpen && !bOpen:
			return -1
		case !aOpen && bOpen:
			return 1
		}
		at, bt := a.AckedAt, b.AckedAt
		if aOpen {
			at, bt = a.RequestedAt, b.RequestedAt
		}
		if c := at.Compare(bt); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	return out, nil
}

// WaitingFor returns the published posts on which userID has an open
// acknowledgement request, newest request first, leaving out posts in
// projects the actor may not read (the web asks for the signed-in user
// themself). It walks the user's open requests: O(open requests).
func (s *Service) WaitingFor(actor access.Actor, userID uint64) ([]*Post, error) {
	var out []*Post
	err := s.view(func(tx *bbolt.Tx) error {
		rp := newReadable(tx, actor)
		prefix := store.Key(userID)
		c := tx.Bucket(bAcksWaiting).Cursor()
		for k, v := lastUnder(c, prefix); k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
			ok, err := rp.ok(store.U64(v))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			_, id := store.SplitTimeKey(k[len(prefix):])
			p, err := getPost(tx, id)
			if err != nil {
				return err
			}
			if p == nil || !p.published() {
				continue
			}
			out = append(out, p.post())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordSeen records the first time the actor opened a post, when the
// post's project has the SeenBy option on, the actor is signed in and not
// the post's author, the post is published and the project not archived;
// otherwise it does nothing and returns nil. It reads first and writes
// only on the first sight, so the common case (seen before, or the option
// off) is a read transaction alone; the write transaction checks again.
// NotFound when the actor may not see the post. Event: post.seen.
func (s *Service) RecordSeen(actor access.Actor, postID uint64) error {
	if !actor.LoggedIn() {
		return nil
	}
	var need bool
	err := s.view(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		need = wantSeen(tx, actor, sc, p)
		return nil
	})
	if err != nil || !need {
		return err
	}
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if !wantSeen(tx, actor, sc, p) {
			return nil
		}
		if err := tx.Bucket(bSeen).Put(ackKey(p.ID, actor.UserID), store.Key(uint64(now.UnixNano()))); err != nil {
			return apperr.Wrap(err, "record seen")
		}
		return s.emit(tx, "post.seen", actor, now, p.ProjectID, p.ID, map[string]any{"user_id": actor.UserID})
	})
}

// wantSeen reports whether the actor's sight of p is still to be recorded.
func wantSeen(tx *bbolt.Tx, actor access.Actor, sc *scope, p *postRec) bool {
	return sc.proj.SeenBy && !sc.proj.Archived && p.published() && actor.UserID != p.AuthorID &&
		tx.Bucket(bSeen).Get(ackKey(p.ID, actor.UserID)) == nil
}

// SeenBy returns who has opened a post, in the order of their first
// sight; nil when the project's SeenBy option is off (what was recorded
// while it was on comes back when it is turned on again). Whoever may see
// the post may see the list (NotFound otherwise).
func (s *Service) SeenBy(actor access.Actor, postID uint64) ([]Seen, error) {
	var out []Seen
	err := s.view(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if !sc.proj.SeenBy {
			return nil
		}
		prefix := store.Key(p.ID)
		c := tx.Bucket(bSeen).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			out = append(out, Seen{UserID: store.U64(k[len(prefix):]), At: time.Unix(0, int64(store.U64(v))).UTC()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Seen) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	return out, nil
}
