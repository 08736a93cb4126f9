package users

import (
	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/store"
)

// ResolveHandles maps @mention handles to the active users they name, as
// access actors (ID and admin flag), in one read; unknown handles and
// deactivated users are left out. It has the shape of
// posts.MentionResolver, which cmd/projblog wires it to.
func (s *Service) ResolveHandles(handles []string) map[string]access.Actor {
	out := make(map[string]access.Actor, len(handles))
	_ = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		idx := tx.Bucket([]byte(bucketUsersByHandle))
		for _, h := range handles {
			v := idx.Get([]byte(h))
			if v == nil {
				continue
			}
			u, err := getUser(tx, store.U64(v))
			if err != nil || u == nil || !u.Active {
				continue
			}
			out[h] = u.Actor()
		}
		return nil
	})
	return out
}
