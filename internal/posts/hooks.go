package posts

import (
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
)

// afterPostWrite runs inside CreatePost's and UpdatePost's transaction,
// after the post record, its indexes and its own event are written (old is
// nil on create). The discussion features keep their records and events in
// step with the post here; a hook that changes p stores it again.
func (s *Service) afterPostWrite(tx *bbolt.Tx, actor access.Actor, sc *scope, old, p *postRec, in PostInput, now time.Time) error {
	if err := s.mentionsAfterPostWrite(tx, actor, sc, old, p, now); err != nil {
		return err
	}
	if err := s.attachmentsAfterPostWrite(tx, actor, sc, old, p); err != nil {
		return err
	}
	return s.statusAfterPostWrite(tx, actor, sc, old, p, in, now)
}
