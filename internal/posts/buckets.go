package posts

import (
	"encoding/binary"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// The package's buckets. Every key that carries a time is a store.TimeKey
// (big-endian Unix nanoseconds, then the id), so cursors walk in time
// order; every id is a store.Key. "pid" is a project id, "tk" a TimeKey.
var (
	bProjects     = []byte("posts.projects")      // Key(pid) -> projectRec
	bProjectSlugs = []byte("posts.project_slugs") // slug -> Key(pid)
	bMembers      = []byte("posts.members")       // Key(pid)+Key(uid) -> memberRec
	bUserProjects = []byte("posts.user_projects") // Key(uid)+Key(pid) -> role
	bPosts        = []byte("posts.posts")         // Key(postID) -> postRec
	bRevisions    = []byte("posts.revisions")     // Key(postID)+Key(n) -> revisionRec
	bPostSlugs    = []byte("posts.post_slugs")    // Key(pid)+slug -> Key(postID); current and old slugs
	bByProject    = []byte("posts.by_project")    // Key(pid)+tk(PublishedAt) -> Key(author); published, not pinned
	bPinned       = []byte("posts.pinned")        // Key(pid)+tk(PublishedAt) -> Key(author); published and pinned
	bRecent       = []byte("posts.recent")        // tk(PublishedAt) -> Key(pid)
	bByAuthor     = []byte("posts.by_author")     // Key(author)+tk(PublishedAt) -> Key(pid)
	bTagProject   = []byte("posts.tag_project")   // Key(pid)+tag+0x00+tk(PublishedAt) -> Key(pid)
	bTagGlobal    = []byte("posts.tag_global")    // tag+0x00+tk(PublishedAt) -> Key(pid)
	bTagCounts    = []byte("posts.tag_counts")    // Key(pid)+tag -> Key(count)
	bMonthCounts  = []byte("posts.month_counts")  // Key(pid)+year(2)+month(1) -> Key(count)
	bDrafts       = []byte("posts.drafts")        // Key(pid)+tk(CreatedAt) -> Key(author)
	bTrash        = []byte("posts.trash")         // Key(pid)+tk(DeletedAt) -> Key(author)
	bMeta         = []byte("posts.meta")          // "rendered" -> Key(markdown.Version every stored post is at)

	// Discussion. Each file that owns one documents its key layout.
	bComments     = []byte("posts.comments")      // comments.go
	bPostComments = []byte("posts.post_comments") // comments.go
	bVisits       = []byte("posts.visits")        // comments.go: last visit of a user to a post
	bReactions    = []byte("posts.reactions")     // reactions.go
	bAcks         = []byte("posts.acks")          // acks.go
	bAcksWaiting  = []byte("posts.acks_waiting")  // acks.go: open requests per user
	bSeen         = []byte("posts.seen")          // acks.go: who has read a post
	bDecisions    = []byte("posts.decisions")     // decisions.go
	bHealth       = []byte("posts.health")        // status.go: health history per project
	bImportKeys   = []byte("posts.import_keys")   // import.go: Key(pid)+source key -> Key(postID)

	// Attachments; attachments.go documents their key layout.
	bAttachments        = []byte("posts.attachments")         // Key(attID) -> attachmentRec
	bAttachmentData     = []byte("posts.attachment_data")     // Key(attID)+Key(n) -> bytes
	bPostAttachments    = []byte("posts.post_attachments")    // Key(postID)+Key(attID) -> ""
	bPendingAttachments = []byte("posts.pending_attachments") // Key(uploaderID)+Key(attID) -> created
)

var allBuckets = [][]byte{
	bProjects, bProjectSlugs, bMembers, bUserProjects, bPosts, bRevisions, bPostSlugs,
	bByProject, bPinned, bRecent, bByAuthor, bTagProject, bTagGlobal, bTagCounts,
	bMonthCounts, bDrafts, bTrash, bMeta,
	bComments, bPostComments, bVisits, bReactions, bAcks, bAcksWaiting, bSeen, bDecisions, bHealth,
	bImportKeys,
	bAttachments, bAttachmentData, bPostAttachments, bPendingAttachments,
}

// tkLen is the length of a store.TimeKey.
const tkLen = 16

// maxTK sorts after every TimeKey.
var maxTK = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func tagPrefix(tag string) []byte { return append([]byte(tag), 0) }

func monthKey(pid uint64, t time.Time) []byte {
	var ym [3]byte
	binary.BigEndian.PutUint16(ym[:2], uint16(t.Year()))
	ym[2] = byte(t.Month())
	return cat(store.Key(pid), ym[:])
}

// setKey puts (add) or deletes (!add) one index entry.
func setKey(b *bbolt.Bucket, k, v []byte, add bool) error {
	var err error
	if add {
		err = b.Put(k, v)
	} else {
		err = b.Delete(k)
	}
	if err != nil {
		return apperr.Wrap(err, "update index %x", k)
	}
	return nil
}

// bump adds delta to the counter at k, deleting it when it reaches zero so
// that counter buckets list only what exists.
func bump(b *bbolt.Bucket, k []byte, delta int) error {
	n := int64(store.U64(b.Get(k))) + int64(delta)
	var err error
	if n <= 0 {
		err = b.Delete(k)
	} else {
		err = b.Put(k, store.Key(uint64(n)))
	}
	if err != nil {
		return apperr.Wrap(err, "update counter %x", k)
	}
	return nil
}

// indexPost adds (add) or removes (!add) every listing entry that the post's
// state calls for, and adjusts the project's PostCount. Callers remove the
// old state's entries and add the new state's, in the transaction that
// stores the record, so indexes and records never disagree.
//
//   - deleted: the project's trash only;
//   - draft: the project's drafts only;
//   - published: project (pinned or not), recent, author, tag (project and
//     global) lists, and the month and tag counters.
func indexPost(tx *bbolt.Tx, p *postRec, proj *projectRec, add bool) error {
	pid := store.Key(p.ProjectID)
	author := store.Key(p.AuthorID)
	switch {
	case !p.DeletedAt.IsZero():
		return setKey(tx.Bucket(bTrash), cat(pid, store.TimeKey(p.DeletedAt, p.ID)), author, add)
	case p.Draft:
		return setKey(tx.Bucket(bDrafts), cat(pid, store.TimeKey(p.CreatedAt, p.ID)), author, add)
	}
	delta := 1
	if !add {
		delta = -1
	}
	tk := store.TimeKey(p.PublishedAt, p.ID)
	list := bByProject
	if p.Pinned {
		list = bPinned
	}
	if err := setKey(tx.Bucket(list), cat(pid, tk), author, add); err != nil {
		return err
	}
	if err := setKey(tx.Bucket(bRecent), tk, pid, add); err != nil {
		return err
	}
	if err := setKey(tx.Bucket(bByAuthor), cat(author, tk), pid, add); err != nil {
		return err
	}
	for _, tag := range p.Tags {
		tp := tagPrefix(tag)
		if err := setKey(tx.Bucket(bTagProject), cat(pid, tp, tk), pid, add); err != nil {
			return err
		}
		if err := setKey(tx.Bucket(bTagGlobal), cat(tp, tk), pid, add); err != nil {
			return err
		}
		if err := bump(tx.Bucket(bTagCounts), cat(pid, []byte(tag)), delta); err != nil {
			return err
		}
	}
	if err := bump(tx.Bucket(bMonthCounts), monthKey(p.ProjectID, p.PublishedAt), delta); err != nil {
		return err
	}
	proj.PostCount += delta
	return nil
}
