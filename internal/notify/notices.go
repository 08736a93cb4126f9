package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
	"projblog/internal/users"
)

// Immediate notices.
//
// People hear at once about what concerns them directly, bundled so that a
// burst of activity becomes one message:
//
//   - a mention of them (event "mention"), when they may read the post;
//   - a request to acknowledge a post ("ack.requested");
//   - a reply to one of their comments and a comment on one of their posts
//     ("comment.added": the author of the comment answered, and the
//     post's author);
//   - the first publication of a post ("post.published" with "first") in a
//     project they chose to follow Immediate (an explicit choice; the
//     member default is Weekly), or with a tag they follow Immediate;
//   - a comment on a post they follow Immediate ("comment.added"): their
//     own post (unless they chose otherwise for it), one they commented
//     on or were mentioned in, or one they chose to follow (follow.go).
//     The post's author hears of it as "a comment on your post"; a reply
//     to one's comment is told as a reply whatever one's mode for the
//     post (like a mention, it is addressed to them).
//
// Reading the log also records who follows a post implicitly (follow.go):
// its author at its first publication, each commenter, each person
// mentioned. Within one event, a person later in the list above hears
// only once, in the most specific form.
//
// Nobody hears about what they did themselves (the event's actor), nor
// about a post they may not read at that moment (their own access, as
// posts decides it for their actor), a draft or a post in the trash.
// Deactivated accounts, accounts without an address, and people with
// EmailOff hear nothing; with MentionsOnly only mentions and
// acknowledgement requests are kept.
//
// # Two steps
//
// ConsumeEvents reads the event log after the durable cursor NoticeConsumer
// and turns each relevant event into one pending Notice per recipient
// (one per person and event: a reply to your comment on your own post is
// one notice, a reply). FlushNotices then sends, for every person whose
// oldest pending notice is at least BundleWindow old and who is not in
// their quiet hours, ONE message with all their pending notices, grouped
// by post, and deletes those notices in the same transaction as it
// enqueues the message (outbox key NoticeKey(user, first seq)). Whatever
// arrives for a person within BundleWindow of the first event thus goes
// out together; during quiet hours notices wait and go out, together,
// when the quiet hours end. Access, settings and the post are checked
// again when the message is composed, so a notice about a post deleted
// or made unreadable in the meantime is dropped, and so are the notices
// of someone who turned e-mail off. Within one message, notices about
// the same post (or the same comment) collapse into the most specific
// one: acknowledgement request, then mention, reply, comment, new post.
//
// # Crashes
//
// The log is read with store.Consume, which advances the store's cursor
// after the batch is handled, in its own transaction: a crash in between
// hands the same batch over again. So the batch's notices are written
// together with a mark of the last event handled (notify.meta
// "notices_seq"), in ONE write transaction, and events at or below the
// mark are skipped: each event is turned into notices exactly once, even
// when the notices it made were already sent and deleted. A crash before
// that transaction commits loses nothing (the batch comes again). The
// outbox does the rest (see outbox.go).
//
// A database on which notices never ran starts at the head of the log
// (New), so that turning the feature on does not mail the whole history;
// an event older than MaxNoticeDelay when it is read (a server that was
// down that long) is skipped too: the digest has covered it.
//
// # Storage
//
//	notify.pending  Key(userID) + Key(event seq) -> Notice (JSON)
//	notify.meta     "notices_seq" -> Key(seq of the last event turned into notices)
//
// # Cost
//
// ConsumeEvents reads each event once; for each candidate recipient it
// reads the user, their settings and the post as they see it (cached per
// batch). A batch with a first publication also reads every explicit
// subscription once (notify.subs is keyed by person, not by project).
// FlushNotices reads the pending notices, which are only what arrived in
// the last minutes and what waits for the end of someone's quiet hours.

// BundleWindow is how long the first pending notice of a person waits
// before their message is sent: whatever else arrives for them meanwhile
// goes in the same message. With the scheduler running every minute, a
// notice leaves between BundleWindow and BundleWindow plus a minute after
// the event.
const BundleWindow = 2 * time.Minute

// MaxNoticeDelay is how old an event may be when ConsumeEvents reads it
// and still make a notice.
const MaxNoticeDelay = MaxDigestDelay

// NoticeConsumer is the name of the notices' cursor in the store's event
// log.
const NoticeConsumer = "notify.notices"

// noticeBatchSize is how many events ConsumeEvents handles per transaction.
const noticeBatchSize = 500

var keyNoticeMark = []byte("notices_seq")

// NoticeKind says what a notice is about.
type NoticeKind string

// The kinds of notices.
const (
	NoticeMention NoticeKind = "mention" // you were @mentioned in a post or comment
	NoticeAck     NoticeKind = "ack"     // you were asked to acknowledge a post
	NoticeReply   NoticeKind = "reply"   // someone answered your comment
	NoticeComment NoticeKind = "comment" // someone commented on your post
	NoticePost    NoticeKind = "post"    // a new post in a project you follow Immediate
	NoticeFollow  NoticeKind = "follow"  // a comment on a post you follow Immediate
	NoticeTag     NoticeKind = "tag"     // a new post with a tag you follow Immediate
)

// rank orders kinds from the least to the most specific, for collapsing
// notices about the same thing.
func (k NoticeKind) rank() int {
	switch k {
	case NoticeAck:
		return 6
	case NoticeMention:
		return 5
	case NoticeReply:
		return 4
	case NoticeComment:
		return 3
	case NoticeFollow:
		return 2
	}
	return 1
}

// Notice is one pending immediate notice for one person.
type Notice struct {
	Seq       uint64     `json:"-"` // the event's sequence number (from the key)
	Kind      NoticeKind `json:"kind"`
	At        time.Time  `json:"at"`                 // when it happened (the event's time)
	ActorID   uint64     `json:"actor_id,omitempty"` // who did it
	ProjectID uint64     `json:"project_id"`
	PostID    uint64     `json:"post_id"`
	CommentID uint64     `json:"comment_id,omitempty"` // the comment, for comments, replies and mentions in one
	Tag       string     `json:"tag,omitempty"`        // NoticeTag: the tag followed
}

// NoticeKey is the outbox key of the message that bundles userID's
// notices from the event firstSeq on: "notice/USERID/FIRSTSEQ".
func NoticeKey(userID, firstSeq uint64) string {
	return "notice/" + strconv.FormatUint(userID, 10) + "/" + strconv.FormatUint(firstSeq, 10)
}

func pendingKey(userID, seq uint64) []byte {
	return append(store.Key(userID), store.Key(seq)...)
}

// systemActor reads the facts that decide who hears of an event (who
// wrote the post); what a person is told is always read as that person.
var systemActor = access.Actor{Admin: true}

// noticeLocks serialises ConsumeEvents, and flushLocks FlushNotices, per
// database (several goroutines of one process; another process cannot
// open the file).
var noticeLocks, flushLocks sync.Map // *store.DB -> *sync.Mutex

func lockFor(m *sync.Map, db *store.DB) func() {
	mu, _ := m.LoadOrStore(db, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// startNotices starts the notices at the head of the log on a database
// where they never ran.
func (s *Service) startNotices() error {
	return s.startAtHead(NoticeConsumer, keyNoticeMark, nil)
}

// afterMark drops the events a consumer's start mark (startAtHead) says
// it must not act on; evs is in log order.
func afterMark(evs []store.Event, mark uint64) []store.Event {
	i := 0
	for i < len(evs) && evs[i].Seq <= mark {
		i++
	}
	return evs[i:]
}

// startAtHead starts the event-log consumer at the head of the log on a
// database where it never ran (no mark under markKey in bMeta yet), so a
// new feature does not act on the whole history. setup, when not nil,
// runs first in the same transaction (creating the consumer's buckets).
func (s *Service) startAtHead(consumer string, markKey []byte, setup func(tx *bbolt.Tx) error) error {
	head := s.db.Head()
	fresh := false
	err := s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		if setup != nil {
			if err := setup(tx); err != nil {
				return err
			}
		}
		b := tx.Bucket(bMeta)
		if b.Get(markKey) != nil {
			return nil
		}
		fresh = true
		return b.Put(markKey, store.Key(head))
	})
	if err != nil {
		return apperr.Wrap(err, "start the consumer %s", consumer)
	}
	if !fresh {
		return nil
	}
	// Only a shortcut: the mark alone already skips these events.
	if cur, err := s.db.CursorOf(consumer); err != nil || cur >= head {
		return err
	}
	return s.db.SetCursor(consumer, head)
}

// ConsumeEvents reads the event log after the cursor NoticeConsumer, in
// batches of 500 events, until it has caught up, and turns the relevant
// events into pending notices (see the comment at the top of notices.go);
// it returns how many notices it added. Each batch's notices are written
// in one transaction with the mark of the batch's last event, so an event
// is turned into notices once, across crashes and repeated calls too. It
// stops between batches when ctx ends, with ctx's error. Errors are
// storage errors; an event whose data does not decode is skipped. Safe
// for concurrent use (calls take turns).
func (s *Service) ConsumeEvents(ctx context.Context) (int, error) {
	defer lockFor(&noticeLocks, s.db)()
	return s.drain(ctx, NoticeConsumer, noticeBatchSize, "notices", s.consumeBatch)
}

// drain feeds the named consumer batches of events after its durable
// cursor until it has caught up with the log or ctx ends; handle returns
// how many items a batch produced. Notices and webhooks share it.
func (s *Service) drain(ctx context.Context, consumer string, batch int, what string, handle func([]store.Event) (int, error)) (int, error) {
	added := 0
	for {
		if err := ctx.Err(); err != nil {
			return added, err
		}
		n := 0
		read, err := s.db.Consume(consumer, batch, func(evs []store.Event) error {
			var err error
			n, err = handle(evs)
			return err
		})
		added += n
		if err != nil {
			return added, apperr.Wrap(err, "read the event log for %s", what)
		}
		if read < batch {
			return added, nil
		}
	}
}

// pendingNotice is a notice with its recipient.
type pendingNotice struct {
	UserID uint64
	Notice
}

// consumeBatch turns a batch of events into notices and records them with
// the mark in one write transaction. Events at or below the mark were
// handled before (a batch handed over again after a crash).
func (s *Service) consumeBatch(evs []store.Event) (int, error) {
	var mark uint64
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		mark = store.U64(tx.Bucket(bMeta).Get(keyNoticeMark))
		return nil
	})
	if err != nil {
		return 0, err
	}
	if evs = afterMark(evs, mark); len(evs) == 0 {
		return 0, nil
	}
	// Read outside the write transaction: users, settings and posts are
	// read through their services, each in its own transaction.
	notices, follows, err := s.noticesFor(evs)
	if err != nil {
		return 0, err
	}
	last := evs[len(evs)-1].Seq
	added := 0
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bMeta)
		mark := store.U64(meta.Get(keyNoticeMark)) // again: it is the truth
		b := tx.Bucket(bPending)
		for _, pn := range notices {
			if pn.Seq <= mark {
				continue
			}
			v, err := json.Marshal(pn.Notice)
			if err != nil {
				return err
			}
			if err := b.Put(pendingKey(pn.UserID, pn.Seq), v); err != nil {
				return err
			}
			added++
		}
		for _, f := range follows {
			if f.seq <= mark {
				continue
			}
			if _, err := addImplicitPostSub(tx, f.userID, f.postID, f.projectID, f.why, f.at); err != nil {
				return err
			}
		}
		if last <= mark {
			return nil
		}
		return meta.Put(keyNoticeMark, store.Key(last))
	})
	if err != nil {
		return 0, apperr.Wrap(err, "store pending notices")
	}
	return added, nil
}

// noticeData is the part of the events' Data the notices read: the
// posts package documents each event's fields in the file that appends it.
type noticeData struct {
	UserID         uint64 `json:"user_id"`          // mention, ack.requested
	CommentID      uint64 `json:"comment_id"`       // mention in a comment, comment.added
	ParentAuthorID uint64 `json:"parent_author_id"` // comment.added: the author of the comment answered
	First          bool   `json:"first"`            // post.published: the first publication
}

// candidate is a person who may hear of an event.
type candidate struct {
	userID    uint64
	kind      NoticeKind
	commentID uint64
	tag       string
}

// implicitFollow is a follow of a post that reading an event records.
type implicitFollow struct {
	seq                       uint64 // the event's
	userID, postID, projectID uint64
	why                       string
	at                        time.Time
}

// postFacts is what the notices need to know of a post.
type postFacts struct {
	author, project uint64
	tags            []string
}

// recipients caches, for one batch, what decides whether a person hears
// of an event.
type recipients struct {
	s         *Service
	users     map[uint64]*users.User // nil: no such user
	settings  map[uint64]Settings
	readable  map[[2]uint64]bool    // user, post
	posts     map[uint64]*postFacts // nil: gone
	immediate map[uint64][]uint64
	followers map[uint64]map[uint64]Mode // post -> user -> mode, the batch's implicit follows included
	tags      map[string][]uint64        // tag -> its Immediate followers
	follows   []implicitFollow
	mentioned map[uint64][]uint64 // comment -> people it mentions, from the batch's events
}

func (s *Service) noticesFor(evs []store.Event) ([]pendingNotice, []implicitFollow, error) {
	now := s.now()
	rc := &recipients{s: s, users: map[uint64]*users.User{}, settings: map[uint64]Settings{},
		readable: map[[2]uint64]bool{}, posts: map[uint64]*postFacts{},
		followers: map[uint64]map[uint64]Mode{}, tags: map[string][]uint64{}}
	// Who is mentioned in which comment of the batch: they hear of that
	// comment as a mention (the event that follows comment.added in the
	// same transaction), not also as a comment on a post they follow.
	rc.mentioned = map[uint64][]uint64{}
	for _, ev := range evs {
		if d, ok := decodeNoticeData(ev); ok && ev.Type == "mention" && d.CommentID != 0 {
			rc.mentioned[d.CommentID] = append(rc.mentioned[d.CommentID], d.UserID)
		}
	}
	var out []pendingNotice
	for _, ev := range evs {
		if ev.PostID == 0 {
			continue
		}
		d, ok := decodeNoticeData(ev)
		if !ok {
			continue
		}
		var cands []candidate
		var err error
		if now.Sub(ev.Time) <= MaxNoticeDelay {
			if cands, err = rc.candidates(ev, d); err != nil {
				return nil, nil, err
			}
		}
		var seen []uint64
		for _, c := range cands {
			if c.userID == 0 || c.userID == ev.ActorID || slices.Contains(seen, c.userID) {
				continue
			}
			seen = append(seen, c.userID)
			ok, err := rc.hears(c.userID, c.kind, ev.PostID)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				continue
			}
			out = append(out, pendingNotice{UserID: c.userID, Notice: Notice{
				Seq: ev.Seq, Kind: c.kind, At: ev.Time, ActorID: ev.ActorID,
				ProjectID: ev.ProjectID, PostID: ev.PostID, CommentID: c.commentID, Tag: c.tag,
			}})
		}
		// After the event's notices: the one who comments follows the
		// post from this comment on, not before it.
		if err := rc.recordFollow(ev, d); err != nil {
			return nil, nil, err
		}
	}
	return out, rc.follows, nil
}

// decodeNoticeData decodes the fields the notices read from an event of
// a type they handle; ok is false for other types and for data that does
// not decode (not ours to repair; it must not block the log).
func decodeNoticeData(ev store.Event) (noticeData, bool) {
	var d noticeData
	switch ev.Type {
	case "mention", "ack.requested", "comment.added", "post.published":
	default:
		return d, false
	}
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return d, false
		}
	}
	return d, true
}

// candidates lists who may hear of ev, the more specific first (a reply
// before a comment on one's post, for the same person).
func (rc *recipients) candidates(ev store.Event, d noticeData) ([]candidate, error) {
	switch ev.Type {
	case "mention":
		return []candidate{{userID: d.UserID, kind: NoticeMention, commentID: d.CommentID}}, nil
	case "ack.requested":
		return []candidate{{userID: d.UserID, kind: NoticeAck}}, nil
	case "comment.added":
		pf, err := rc.post(ev.PostID)
		if err != nil || pf == nil {
			return nil, err
		}
		followers, err := rc.postFollowers(ev.PostID, pf)
		if err != nil {
			return nil, err
		}
		out := []candidate{{userID: d.ParentAuthorID, kind: NoticeReply, commentID: d.CommentID}}
		mentioned := rc.mentioned[d.CommentID]
		if followers[pf.author] == Immediate && !slices.Contains(mentioned, pf.author) {
			out = append(out, candidate{userID: pf.author, kind: NoticeComment, commentID: d.CommentID})
		}
		ids := make([]uint64, 0, len(followers))
		for uid, m := range followers {
			if m == Immediate && uid != pf.author && !slices.Contains(mentioned, uid) {
				ids = append(ids, uid)
			}
		}
		slices.Sort(ids)
		for _, uid := range ids {
			out = append(out, candidate{userID: uid, kind: NoticeFollow, commentID: d.CommentID})
		}
		return out, nil
	case "post.published":
		if !d.First {
			return nil, nil // published again after a return to draft: told once
		}
		pf, err := rc.post(ev.PostID)
		if err != nil || pf == nil {
			return nil, err
		}
		followers, err := rc.immediateFollowers(ev.ProjectID)
		if err != nil {
			return nil, err
		}
		var out []candidate
		for _, uid := range followers {
			if uid != pf.author {
				out = append(out, candidate{userID: uid, kind: NoticePost})
			}
		}
		for _, tag := range pf.tags {
			tf, err := rc.tagFollowers(tag)
			if err != nil {
				return nil, err
			}
			for _, uid := range tf {
				if uid != pf.author {
					out = append(out, candidate{userID: uid, kind: NoticeTag, tag: tag})
				}
			}
		}
		return out, nil
	}
	return nil, nil
}

// recordFollow notes the implicit follow of a post that ev makes (see
// follow.go), to be written with the batch's notices, and counts it for
// the batch's later events.
func (rc *recipients) recordFollow(ev store.Event, d noticeData) error {
	var uid uint64
	why := ""
	switch ev.Type {
	case "post.published":
		if !d.First {
			return nil
		}
		why = FollowAuthor
	case "comment.added":
		uid, why = ev.ActorID, FollowCommenter
	case "mention":
		uid, why = d.UserID, FollowMentioned
	default:
		return nil
	}
	pf, err := rc.post(ev.PostID)
	if err != nil || pf == nil {
		return err
	}
	if why == FollowAuthor {
		uid = pf.author
	}
	if uid == 0 {
		return nil
	}
	followers, err := rc.postFollowers(ev.PostID, pf)
	if err != nil {
		return err
	}
	if _, ok := followers[uid]; ok && !(uid == pf.author && why == FollowAuthor) {
		return nil // a record (or the author's default) decides already
	}
	if _, ok := followers[uid]; !ok {
		followers[uid] = Immediate
	}
	rc.follows = append(rc.follows, implicitFollow{seq: ev.Seq, userID: uid, postID: ev.PostID,
		projectID: pf.project, why: why, at: ev.Time})
	return nil
}

// post returns what the notices need of a post, nil when it is gone.
func (rc *recipients) post(postID uint64) (*postFacts, error) {
	if pf, ok := rc.posts[postID]; ok {
		return pf, nil
	}
	p, _, err := rc.s.posts.Post(systemActor, postID)
	if apperr.Is(err, apperr.NotFound) {
		rc.posts[postID] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pf := &postFacts{author: p.AuthorID, project: p.ProjectID, tags: p.Tags}
	rc.posts[postID] = pf
	return pf, nil
}

// postFollowers returns, by person, the mode of everyone with a
// subscription to the post (explicit or implicit) and of its author, who
// follows it Immediate without one.
func (rc *recipients) postFollowers(postID uint64, pf *postFacts) (map[uint64]Mode, error) {
	if m, ok := rc.followers[postID]; ok {
		return m, nil
	}
	m := map[uint64]Mode{}
	err := rc.s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(postID)
		c := tx.Bucket(bPostFollowers).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) == 16 {
				m[store.U64(k[8:])] = Mode(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the followers of post %d", postID)
	}
	if _, ok := m[pf.author]; !ok && pf.author != 0 {
		m[pf.author] = Immediate
	}
	rc.followers[postID] = m
	return m, nil
}

// tagFollowers returns the people who follow tag Immediate.
func (rc *recipients) tagFollowers(tag string) ([]uint64, error) {
	if ids, ok := rc.tags[tag]; ok {
		return ids, nil
	}
	var ids []uint64
	err := rc.s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := append([]byte(tag), 0)
		c := tx.Bucket(bTagFollowers).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) == len(prefix)+8 && Mode(v) == Immediate {
				ids = append(ids, store.U64(k[len(prefix):]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the followers of tag %s", tag)
	}
	rc.tags[tag] = ids
	return ids, nil
}

// immediateFollowers returns the people who chose Immediate for the
// project, reading every explicit choice once per batch.
func (rc *recipients) immediateFollowers(projectID uint64) ([]uint64, error) {
	if rc.immediate == nil {
		rc.immediate = map[uint64][]uint64{}
		err := rc.s.db.Bolt().View(func(tx *bbolt.Tx) error {
			return tx.Bucket(bSubs).ForEach(func(k, v []byte) error {
				if len(k) == 16 && Mode(v) == Immediate {
					pid := store.U64(k[8:])
					rc.immediate[pid] = append(rc.immediate[pid], store.U64(k[:8]))
				}
				return nil
			})
		})
		if err != nil {
			return nil, apperr.Wrap(err, "read subscriptions")
		}
	}
	return rc.immediate[projectID], nil
}

// hears reports whether the person takes a notice of this kind about
// the post: an active account with an address and e-mail on, mentions
// only respected, and the post published and readable by them now.
func (rc *recipients) hears(userID uint64, kind NoticeKind, postID uint64) (bool, error) {
	u, ok := rc.users[userID]
	if !ok {
		var err error
		u, err = rc.s.users.ByID(userID)
		if apperr.Is(err, apperr.NotFound) {
			u = nil
		} else if err != nil {
			return false, err
		}
		rc.users[userID] = u
	}
	if u == nil || !u.Active || u.Email == "" {
		return false, nil
	}
	st, ok := rc.settings[userID]
	if !ok {
		var err error
		if st, err = rc.s.Settings(userID); err != nil {
			return false, err
		}
		rc.settings[userID] = st
	}
	if st.EmailOff || (st.MentionsOnly && !kind.direct()) {
		return false, nil
	}
	key := [2]uint64{userID, postID}
	r, ok := rc.readable[key]
	if !ok {
		var err error
		if r, err = rc.s.readablePost(u, postID); err != nil {
			return false, err
		}
		rc.readable[key] = r
	}
	return r, nil
}

// direct reports whether the kind is one MentionsOnly keeps.
func (k NoticeKind) direct() bool { return k == NoticeMention || k == NoticeAck }

// readablePost reports whether u may read the post now and it is
// published and not in the trash.
func (s *Service) readablePost(u *users.User, postID uint64) (bool, error) {
	p, _, err := s.posts.Post(u.Actor(), postID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !p.Draft && p.DeletedAt.IsZero(), nil
}

// PendingNotices returns the notices waiting to be sent to the person,
// oldest event first.
func (s *Service) PendingNotices(userID uint64) ([]Notice, error) {
	var out []Notice
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(userID)
		c := tx.Bucket(bPending).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			n, err := decodeNotice(k, v)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read pending notices")
	}
	return out, nil
}

func decodeNotice(k, v []byte) (Notice, error) {
	var n Notice
	if len(k) != 16 {
		return n, errors.New("pending notice with a malformed key")
	}
	if err := json.Unmarshal(v, &n); err != nil {
		return n, apperr.Wrap(err, "decode pending notice %d of user %d", store.U64(k[8:]), store.U64(k[:8]))
	}
	n.Seq = store.U64(k[8:])
	return n, nil
}

// userNotices is one person's pending notices, oldest event first.
type userNotices struct {
	userID  uint64
	notices []Notice
}

// FlushNotices sends the pending notices of every person whose oldest
// one is at least BundleWindow old and who is not in their quiet hours:
// ONE message per person with all their pending notices, enqueued under
// NoticeKey(user, seq of the first) in the same transaction that deletes
// those notices. It returns how many messages it enqueued. Notices that
// can no longer be told (the person turned e-mail off or was
// deactivated, the post was deleted or made unreadable to them) are
// deleted without a message. A failure for one person does not stop the
// others; the errors are joined. It stops between people when ctx ends,
// with ctx's error. Safe for concurrent use (calls take turns).
func (s *Service) FlushNotices(ctx context.Context) (int, error) {
	defer lockFor(&flushLocks, s.db)()
	now := s.now()
	var due []userNotices
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bPending).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n, err := decodeNotice(k, v)
			if err != nil {
				return err
			}
			uid := store.U64(k[:8])
			if len(due) == 0 || due[len(due)-1].userID != uid {
				due = append(due, userNotices{userID: uid})
			}
			due[len(due)-1].notices = append(due[len(due)-1].notices, n)
		}
		return nil
	})
	if err != nil {
		return 0, apperr.Wrap(err, "read pending notices")
	}
	enqueued := 0
	var errs []error
	for _, un := range due {
		oldest := un.notices[0].At
		for _, n := range un.notices[1:] {
			if n.At.Before(oldest) {
				oldest = n.At
			}
		}
		if now.Sub(oldest) < BundleWindow {
			continue
		}
		if err := ctx.Err(); err != nil {
			return enqueued, err
		}
		added, err := s.flushUser(un, now)
		if err != nil {
			errs = append(errs, apperr.Wrap(err, "notices for user %d", un.userID))
			continue
		}
		if added {
			enqueued++
		}
	}
	return enqueued, errors.Join(errs...)
}

// errNoticesMoved stops a flush whose notices changed since they were
// read; the next round sees them as they are.
var errNoticesMoved = errors.New("pending notices changed")

// flushUser sends (or drops) one person's pending notices.
func (s *Service) flushUser(un userNotices, now time.Time) (bool, error) {
	u, err := s.users.ByID(un.userID)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return false, err
	}
	st, err := s.Settings(un.userID)
	if err != nil {
		return false, err
	}
	var m *Message
	if u != nil && u.Active && u.Email != "" && !st.EmailOff {
		if st.QuietAt(now, u.Location()) {
			return false, nil // they wait for the end of the quiet hours
		}
		send := un.notices
		if st.MentionsOnly {
			send = slices.DeleteFunc(slices.Clone(send), func(n Notice) bool { return !n.Kind.direct() })
		}
		if m, err = s.composeNotice(u, un.notices[0].Seq, send); err != nil {
			return false, err
		}
	}
	added := false
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bPending)
		for _, n := range un.notices {
			if b.Get(pendingKey(un.userID, n.Seq)) == nil {
				return errNoticesMoved
			}
		}
		if m != nil {
			var err error
			// A key taken already (it cannot be: its first notice is
			// deleted now) would mean these were sent: delete them anyway.
			if added, err = s.enqueueTx(tx, NoticeKey(un.userID, un.notices[0].Seq), m); err != nil {
				return err
			}
		}
		for _, n := range un.notices {
			if err := b.Delete(pendingKey(un.userID, n.Seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errNoticesMoved) {
		return false, nil
	}
	if err != nil {
		return false, apperr.Wrap(err, "enqueue notices")
	}
	return added, nil
}
