package posts

import (
	"cmp"
	"encoding/base64"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Page sizes for the paged lists.
const (
	DefaultLimit = 20  // a limit <= 0 means this
	MaxLimit     = 100 // a larger limit is cut to this
)

// Page is one page of a paged list. Next is the cursor of the following
// page, "" when there is none.
type Page struct {
	Posts []*Post
	Next  string
}

// MonthCount is how many published posts a project has in one month (UTC).
type MonthCount struct {
	Year  int
	Month time.Month
	Count int
}

// TagCount is how many published posts carry one tag.
type TagCount struct {
	Tag   string
	Count int
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// A cursor is the base64url form of the TimeKey of the last post on the
// previous page; it stays valid when that post is later deleted.
func encodeCursor(tk []byte) string { return base64.RawURLEncoding.EncodeToString(tk) }

func decodeCursor(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != tkLen {
		return nil, apperr.New(apperr.Invalid, "This page link is not valid; please start from the first page.")
	}
	return b, nil
}

// walkDesc walks the keys of b that start with prefix and end in a
// TimeKey, newest first, starting after the cursor (a TimeKey; nil for the
// first page). accept filters entries by their value (nil accepts all);
// each accepted entry's post is loaded, up to limit. Next is set only when
// one more accepted entry exists, so the cost is O(limit) plus the entries
// accept rejects.
func walkDesc(tx *bbolt.Tx, b []byte, prefix, after []byte, limit int, accept func(v []byte) (bool, error)) (Page, error) {
	var page Page
	bound := cat(prefix, maxTK)
	if after != nil {
		bound = cat(prefix, after)
	}
	c := tx.Bucket(b).Cursor()
	var v []byte
	k, _ := c.Seek(bound)
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	var last []byte
	for ; k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
		if len(k) != len(prefix)+tkLen {
			continue
		}
		if accept != nil {
			ok, err := accept(v)
			if err != nil {
				return page, err
			}
			if !ok {
				continue
			}
		}
		if len(page.Posts) == limit {
			page.Next = encodeCursor(last)
			break
		}
		tk := k[len(prefix):]
		_, id := store.SplitTimeKey(tk)
		p, err := getPost(tx, id)
		if err != nil {
			return page, err
		}
		if p == nil {
			return page, apperr.New(apperr.Internal, "index %s points at missing post %d", b, id)
		}
		page.Posts = append(page.Posts, p.post())
		last = clone(tk)
	}
	return page, nil
}

// allDesc loads every post listed under prefix in b, newest first.
func allDesc(tx *bbolt.Tx, b []byte, prefix []byte, keep func(v []byte) bool) ([]*Post, error) {
	var out []*Post
	c := tx.Bucket(b).Cursor()
	var v []byte
	k, _ := c.Seek(cat(prefix, maxTK))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
		if keep != nil && !keep(v) {
			continue
		}
		_, id := store.SplitTimeKey(k[len(prefix):])
		p, err := getPost(tx, id)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, apperr.New(apperr.Internal, "index %s points at missing post %d", b, id)
		}
		out = append(out, p.post())
	}
	return out, nil
}

// readableFilter turns a readable-project cache into a walkDesc filter over
// index values that hold a project id.
func readableFilter(rp *readableProjects) func(v []byte) (bool, error) {
	return func(v []byte) (bool, error) { return rp.ok(store.U64(v)) }
}

// ProjectPosts returns a project's published posts: pinned ones (all of
// them, newest first) only on the first page (cursor ""), then one page of
// the non-pinned ones, newest published first. It needs access.Read and
// costs O(limit) whatever the number of posts. limit <= 0 means
// DefaultLimit; it is capped at MaxLimit. A malformed cursor is Invalid.
func (s *Service) ProjectPosts(actor access.Actor, projectSlug, cursor string, limit int) (pinned []*Post, page Page, err error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, Page{}, err
	}
	err = s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		prefix := store.Key(sc.proj.ID)
		if after == nil {
			if pinned, err = allDesc(tx, bPinned, prefix, nil); err != nil {
				return err
			}
		}
		page, err = walkDesc(tx, bByProject, prefix, after, clampLimit(limit), nil)
		return err
	})
	if err != nil {
		return nil, Page{}, err
	}
	return pinned, page, nil
}

// Recent returns published posts across every project the actor may read,
// newest first. Entries of projects the actor may not read are skipped, so
// a page costs O(limit) plus the skipped entries (each project's
// readability is decided once per call).
func (s *Service) Recent(actor access.Actor, cursor string, limit int) (Page, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	var page Page
	err = s.view(func(tx *bbolt.Tx) error {
		page, err = walkDesc(tx, bRecent, nil, after, clampLimit(limit), readableFilter(newReadable(tx, actor)))
		return err
	})
	return page, err
}

// TagPosts returns published posts carrying tag, newest first: in one
// project (access.Read; O(limit)), or with projectSlug "" across every
// project the actor may read (O(limit) plus skipped entries, as Recent).
// The tag is normalised first; a tag that cannot be valid is Invalid.
func (s *Service) TagPosts(actor access.Actor, projectSlug, tag, cursor string, limit int) (Page, error) {
	t, err := NormalizeTag(tag)
	if err != nil {
		return Page{}, err
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	var page Page
	err = s.view(func(tx *bbolt.Tx) error {
		if projectSlug == "" {
			page, err = walkDesc(tx, bTagGlobal, tagPrefix(t), after, clampLimit(limit), readableFilter(newReadable(tx, actor)))
			return err
		}
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		page, err = walkDesc(tx, bTagProject, cat(store.Key(sc.proj.ID), tagPrefix(t)), after, clampLimit(limit), nil)
		return err
	})
	return page, err
}

// AuthorPosts returns an author's published posts across every project
// the actor may read, newest first; O(limit) plus skipped entries, as
// Recent.
func (s *Service) AuthorPosts(actor access.Actor, authorID uint64, cursor string, limit int) (Page, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	var page Page
	err = s.view(func(tx *bbolt.Tx) error {
		page, err = walkDesc(tx, bByAuthor, store.Key(authorID), after, clampLimit(limit), readableFilter(newReadable(tx, actor)))
		return err
	})
	return page, err
}

// MonthPosts returns every published post of a project first published in
// the given month (UTC), pinned ones included, newest first. It needs
// access.Read; its cost is the number of posts in that month.
func (s *Service) MonthPosts(actor access.Actor, projectSlug string, year int, month time.Month) ([]*Post, error) {
	if month < time.January || month > time.December {
		return nil, apperr.New(apperr.Invalid, "There is no month %d.", int(month))
	}
	start := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	var out []*Post
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		prefix := store.Key(sc.proj.ID)
		for _, b := range [][]byte{bByProject, bPinned} {
			lo, hi := cat(prefix, store.TimeKey(start, 0)), cat(prefix, store.TimeKey(end, 0))
			c := tx.Bucket(b).Cursor()
			for k, _ := c.Seek(lo); k != nil && string(k) < string(hi); k, _ = c.Next() {
				_, id := store.SplitTimeKey(k[len(prefix):])
				p, err := getPost(tx, id)
				if err != nil {
					return err
				}
				if p == nil {
					return apperr.New(apperr.Internal, "index %s points at missing post %d", b, id)
				}
				out = append(out, p.post())
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *Post) int {
		if c := b.PublishedAt.Compare(a.PublishedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, err
}

// Months returns, newest first, the months (UTC) in which a project has
// published posts, with their counts. It reads a counter bucket, not the
// posts, and needs access.Read.
func (s *Service) Months(actor access.Actor, projectSlug string) ([]MonthCount, error) {
	var out []MonthCount
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		prefix := store.Key(sc.proj.ID)
		c := tx.Bucket(bMonthCounts).Cursor()
		var v []byte
		k, _ := c.Seek(cat(prefix, []byte{0xff, 0xff, 0xff}))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
			if len(k) != 11 {
				continue
			}
			out = append(out, MonthCount{
				Year:  int(k[8])<<8 | int(k[9]),
				Month: time.Month(k[10]),
				Count: int(store.U64(v)),
			})
		}
		return nil
	})
	return out, err
}

// Tags returns the tags of published posts with their counts, most used
// first (ties alphabetically): of one project (access.Read), or with
// projectSlug "" summed over every project the actor may read. It reads
// counter buckets, not posts.
func (s *Service) Tags(actor access.Actor, projectSlug string) ([]TagCount, error) {
	counts := map[string]int{}
	err := s.view(func(tx *bbolt.Tx) error {
		var pids []uint64
		if projectSlug == "" {
			rp := newReadable(tx, actor)
			c := tx.Bucket(bProjects).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				ok, err := rp.ok(store.U64(k))
				if err != nil {
					return err
				}
				if ok {
					pids = append(pids, store.U64(k))
				}
			}
		} else {
			sc, err := scopeBySlug(tx, actor, projectSlug)
			if err != nil {
				return err
			}
			pids = []uint64{sc.proj.ID}
		}
		c := tx.Bucket(bTagCounts).Cursor()
		for _, pid := range pids {
			prefix := store.Key(pid)
			for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
				counts[string(k[8:])] += int(store.U64(v))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]TagCount, 0, len(counts))
	for t, n := range counts {
		out = append(out, TagCount{Tag: t, Count: n})
	}
	slices.SortFunc(out, func(a, b TagCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Tag, b.Tag)
	})
	return out, nil
}

// Drafts returns the project's drafts that the actor may edit — all of
// them with access.EditOthers, their own with access.EditOwn, none
// otherwise — most recently updated first. Drafts stay visible to them in
// an archived project. Unreadable project: NotFound.
func (s *Service) Drafts(actor access.Actor, projectSlug string) ([]*Post, error) {
	var out []*Post
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		subj := sc.viewSubject()
		var keep func(v []byte) bool
		switch {
		case access.Can(actor, subj, access.EditOthers):
		case actor.LoggedIn() && access.Can(actor, subj, access.EditOwn):
			keep = func(v []byte) bool { return store.U64(v) == actor.UserID }
		default:
			return nil
		}
		out, err = allDesc(tx, bDrafts, store.Key(sc.proj.ID), keep)
		return err
	})
	slices.SortStableFunc(out, func(a, b *Post) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	return out, err
}

// Trash returns the project's deleted posts, most recently deleted first.
// It needs access.EditOthers (judged as if the project were not archived,
// so owners still see an archived project's trash): Forbidden otherwise,
// NotFound for an unreadable project.
func (s *Service) Trash(actor access.Actor, projectSlug string) ([]*Post, error) {
	var out []*Post
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		if err := access.Check(actor, sc.viewSubject(), access.EditOthers); err != nil {
			if apperr.Is(err, apperr.Forbidden) {
				return apperr.New(apperr.Forbidden, "Only a project owner may see the trash.")
			}
			return err
		}
		out, err = allDesc(tx, bTrash, store.Key(sc.proj.ID), nil)
		return err
	})
	return out, err
}
