package posts

import (
	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Source keys name posts and comments by where they came from outside
// projblog: an export's file, a mail thread's Message-ID. They make
// writes from those sources idempotent (Import, CreatePost and AddComment
// with a Key) and let a later message find the post its thread became
// (SourceTarget).
//
// Storage, in posts.import_keys:
//
//	Key(projectID)+key -> Key(postID)                 a post
//	Key(projectID)+key -> Key(postID)+Key(commentID)  a comment
//
// A key is unique within its project; the first writer keeps it.

// MaxSourceKeyBytes is the longest source key.
const MaxSourceKeyBytes = 1000

func sourceKey(pid uint64, key string) []byte { return cat(store.Key(pid), []byte(key)) }

// decodeSourceTarget reads a posts.import_keys value.
func decodeSourceTarget(v []byte) (postID, commentID uint64) {
	if len(v) >= 8 {
		postID = store.U64(v[:8])
	}
	if len(v) >= 16 {
		commentID = store.U64(v[8:16])
	}
	return postID, commentID
}

// putSourceKey records key (when not empty) for a post or, with a
// commentID, one of its comments.
func putSourceKey(tx *bbolt.Tx, pid uint64, key string, postID, commentID uint64) error {
	if key == "" {
		return nil
	}
	if len(key) > MaxSourceKeyBytes {
		return apperr.New(apperr.Invalid, "A source key is at most %d bytes.", MaxSourceKeyBytes)
	}
	v := store.Key(postID)
	if commentID != 0 {
		v = cat(v, store.Key(commentID))
	}
	if err := tx.Bucket(bImportKeys).Put(sourceKey(pid, key), v); err != nil {
		return apperr.Wrap(err, "store source key")
	}
	return nil
}

func errKeyElsewhere() error {
	return apperr.New(apperr.Conflict, "This message is already stored in the project, in another place.")
}

// keyedPost returns the post a create with key already made (nil when the
// key is new or empty); a key naming a comment is a Conflict.
func keyedPost(tx *bbolt.Tx, actor access.Actor, sc *scope, key string) (*Post, error) {
	if key == "" {
		return nil, nil
	}
	v := tx.Bucket(bImportKeys).Get(sourceKey(sc.proj.ID, key))
	if v == nil {
		return nil, nil
	}
	postID, commentID := decodeSourceTarget(v)
	if commentID != 0 {
		return nil, errKeyElsewhere()
	}
	p, err := getPost(tx, postID)
	if err != nil || p == nil {
		return nil, err
	}
	if !canSee(actor, sc, p) {
		return nil, errKeyElsewhere()
	}
	return p.post(), nil
}

// keyedComment returns the comment of p an add with key already made (nil
// when the key is new or empty); a key naming anything else is a
// Conflict.
func keyedComment(tx *bbolt.Tx, p *postRec, key string) (*Comment, error) {
	if key == "" {
		return nil, nil
	}
	v := tx.Bucket(bImportKeys).Get(sourceKey(p.ProjectID, key))
	if v == nil {
		return nil, nil
	}
	postID, commentID := decodeSourceTarget(v)
	if postID != p.ID || commentID == 0 {
		return nil, errKeyElsewhere()
	}
	c, err := getComment(tx, commentID)
	if err != nil || c == nil {
		return nil, err
	}
	return c.comment(), nil
}

// SourceTarget returns what the first of keys (tried in order) names in
// the project: a post (commentID 0) or a comment of it; zeros when none
// of them is known or the actor may not see that post. Mail uses it to
// find the post of the thread a message answers (its In-Reply-To and
// References). It needs read access to the project (NotFound otherwise).
func (s *Service) SourceTarget(actor access.Actor, projectSlug string, keys ...string) (postID, commentID uint64, err error) {
	err = s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		b := tx.Bucket(bImportKeys)
		for _, k := range keys {
			if k == "" {
				continue
			}
			v := b.Get(sourceKey(sc.proj.ID, k))
			if v == nil {
				continue
			}
			pid, cid := decodeSourceTarget(v)
			p, err := getPost(tx, pid)
			if err != nil {
				return err
			}
			if p != nil && canSee(actor, sc, p) {
				postID, commentID = pid, cid
				return nil
			}
		}
		return nil
	})
	return postID, commentID, err
}
