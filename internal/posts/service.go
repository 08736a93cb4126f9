package posts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"projblog/internal/markdown"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Options tune New.
type Options struct {
	// Now returns the current time. Nil means time.Now. Whatever it returns
	// is stored in UTC.
	Now func() time.Time
	// Mentions resolves @mention handles to users when a post or comment
	// is written (see mentions.go). Nil resolves none: every "@ada" stays
	// text and nobody is mentioned. It is called outside any transaction
	// of this package.
	Mentions MentionResolver
}

// Service owns projects, memberships, posts, revisions, slugs, tags and the
// listing indexes, all kept in the buckets listed in buckets.go. It is safe
// for concurrent use: every public method runs in exactly one bbolt
// transaction.
type Service struct {
	db      *store.DB
	now     func() time.Time
	resolve MentionResolver
}

// New returns a Service over db, creating the package's buckets if they are
// missing. It fails only when the database cannot be written.
func New(db *store.DB, opts Options) (*Service, error) {
	if db == nil {
		return nil, errors.New("posts.New: nil database")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	names := make([]string, len(allBuckets))
	for i, b := range allBuckets {
		names[i] = string(b)
	}
	if err := db.EnsureBuckets(names...); err != nil {
		return nil, err
	}
	// A database without posts is at this renderer's version from the start.
	err := db.Bolt().Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bMeta).Get(keyRendered) != nil {
			return nil
		}
		if k, _ := tx.Bucket(bPosts).Cursor().First(); k != nil {
			return nil
		}
		return tx.Bucket(bMeta).Put(keyRendered, store.Key(markdown.Version))
	})
	if err != nil {
		return nil, fmt.Errorf("posts: record renderer version: %w", err)
	}
	return &Service{db: db, now: now, resolve: opts.Mentions}, nil
}

// clock returns the current time in UTC without a monotonic reading, so
// that what is stored is what is compared.
func (s *Service) clock() time.Time { return s.now().UTC().Round(0) }

// view and update run fn in one read or write transaction.
func (s *Service) view(fn func(tx *bbolt.Tx) error) error   { return s.db.Bolt().View(fn) }
func (s *Service) update(fn func(tx *bbolt.Tx) error) error { return s.db.Bolt().Update(fn) }

// batch runs fn in a write transaction shared with other concurrent
// batched writes (bbolt's DB.Batch): one commit, one fsync for many
// writers, which is what lets many people post at once. bbolt may run fn
// more than once (a batch whose other function failed is retried), each
// time in a fresh transaction whose earlier attempt was rolled back, so fn
// must only write through tx and assign its results — never append to
// something outside, send, or notify. CreatePost and AddComment use it.
func (s *Service) batch(fn func(tx *bbolt.Tx) error) error { return s.db.Bolt().Batch(fn) }

// emit appends one event to the log inside tx.
func (s *Service) emit(tx *bbolt.Tx, typ string, actor access.Actor, now time.Time, projectID, postID uint64, data any) error {
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return apperr.Wrap(err, "encode %s event", typ)
		}
		raw = b
	}
	_, err := s.db.AppendEvent(tx, store.Event{
		Type:      typ,
		Time:      now,
		ActorID:   actor.UserID,
		ProjectID: projectID,
		PostID:    postID,
		Data:      raw,
	})
	return err
}

// getJSON decodes the value at key into v and reports whether it existed.
// Decoding copies every string out of bbolt's memory, so v stays valid
// after the transaction.
func getJSON(b *bbolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, apperr.Wrap(err, "decode record %x", key)
	}
	return true, nil
}

// putJSON encodes v (without HTML escaping, which would only bloat stored
// HTML) and stores it at key.
func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return apperr.Wrap(err, "encode record %x", key)
	}
	if err := b.Put(key, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
		return apperr.Wrap(err, "store record %x", key)
	}
	return nil
}

// cat concatenates key parts into a new slice.
func cat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// clone copies b out of bbolt's memory.
func clone(b []byte) []byte { return append([]byte(nil), b...) }

// notFound errors; a project the actor may not read answers exactly like a
// missing one.
func errNoProject() error { return apperr.New(apperr.NotFound, "No such project.") }
func errNoPost() error    { return apperr.New(apperr.NotFound, "No such post.") }
