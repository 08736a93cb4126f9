package posts

import (
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
)

// mentionsAfterPostWrite: STUB, being written (mentions).
func (s *Service) mentionsAfterPostWrite(tx *bbolt.Tx, actor access.Actor, sc *scope, old, p *postRec, now time.Time) error {
	return nil
}
