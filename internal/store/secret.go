package store

import (
	"crypto/rand"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
)

// SecretBytes is the size of a secret made by Secret.
const SecretBytes = 32

// Secret returns the secret kept in the caller's bucket under name,
// making it (SecretBytes random bytes) the first time it is asked for.
// The packages that sign links and addresses (unsubscribe links, guest
// tokens, reply addresses) keep theirs this way, each in a bucket of its
// own: a read when it exists, one write transaction that checks again
// when it does not, so two first callers agree on one secret. The bucket
// must exist. The returned slice is the caller's.
func (db *DB) Secret(bucket, name []byte) ([]byte, error) {
	var secret []byte
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		secret = append(secret, tx.Bucket(bucket).Get(name)...)
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the secret %s", name)
	}
	if len(secret) > 0 {
		return secret, nil
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if v := b.Get(name); len(v) > 0 {
			secret = append(secret[:0], v...)
			return nil
		}
		secret = make([]byte, SecretBytes)
		rand.Read(secret) // never fails (crypto/rand, Go 1.24+)
		return b.Put(name, secret)
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create the secret %s", name)
	}
	return secret, nil
}

// ExistingSecret returns the secret under name, nil when none was made
// yet (so nothing signed with it can exist).
func (db *DB) ExistingSecret(bucket, name []byte) ([]byte, error) {
	var secret []byte
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		secret = append(secret, tx.Bucket(bucket).Get(name)...)
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the secret %s", name)
	}
	return secret, nil
}
