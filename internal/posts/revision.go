package posts

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Revision is one saved state of a post's title, body, excerpt and tags.
// Every post has revision 1; each edit that changes one of them adds the
// next. Revisions are kept for the life of the post.
type Revision struct {
	N        int
	Title    string
	Body     string
	Excerpt  string
	Tags     []string
	EditorID uint64
	At       time.Time
}

// DiffLine is one line of a line diff: Op is ' ' (in both), '+' (only in
// the newer text) or '-' (only in the older one). Text has no newline.
type DiffLine struct {
	Op   byte
	Text string
}

func (r *revisionRec) revision() Revision {
	return Revision{N: r.N, Title: r.Title, Body: r.Body, Excerpt: r.Excerpt, Tags: slices.Clone(r.Tags), EditorID: r.EditorID, At: r.At}
}

// Revisions returns every revision of a post, newest first. Whoever may
// see the post may see its history (NotFound otherwise).
func (s *Service) Revisions(actor access.Actor, postID uint64) ([]Revision, error) {
	var out []Revision
	err := s.view(func(tx *bbolt.Tx) error {
		if _, _, err := loadPost(tx, actor, postID); err != nil {
			return err
		}
		prefix := store.Key(postID)
		c := tx.Bucket(bRevisions).Cursor()
		var v []byte
		k, _ := c.Seek(cat(prefix, maxTK[:8]))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
			var r revisionRec
			if err := json.Unmarshal(v, &r); err != nil {
				return apperr.Wrap(err, "decode revision %x", k)
			}
			out = append(out, r.revision())
		}
		return nil
	})
	return out, err
}

// Revision returns revision n of a post; NotFound when the actor may not
// see the post or there is no such revision.
func (s *Service) Revision(actor access.Actor, postID uint64, n int) (*Revision, error) {
	var out *Revision
	err := s.view(func(tx *bbolt.Tx) error {
		if _, _, err := loadPost(tx, actor, postID); err != nil {
			return err
		}
		if n < 1 {
			return apperr.New(apperr.NotFound, "No such revision.")
		}
		var r revisionRec
		ok, err := getJSON(tx.Bucket(bRevisions), cat(store.Key(postID), store.Key(uint64(n))), &r)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.New(apperr.NotFound, "No such revision.")
		}
		rev := r.revision()
		out = &rev
		return nil
	})
	return out, err
}

// Diff returns the line diff that turns a into b, in order, computed with
// diff-match-patch in line mode. A final newline does not count as an
// empty last line. It is safe for concurrent use.
func Diff(a, b string) []DiffLine {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var out []DiffLine
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = '+'
		case diffmatchpatch.DiffDelete:
			op = '-'
		}
		text := strings.TrimSuffix(d.Text, "\n")
		for line := range strings.SplitSeq(text, "\n") {
			out = append(out, DiffLine{Op: op, Text: strings.TrimSuffix(line, "\r")})
		}
	}
	return out
}
