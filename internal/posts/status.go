package posts

import (
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
)

// statusAfterPostWrite: STUB, being written (health, acknowledgement requests).
func (s *Service) statusAfterPostWrite(tx *bbolt.Tx, actor access.Actor, sc *scope, old, p *postRec, in PostInput, now time.Time) error {
	return nil
}
