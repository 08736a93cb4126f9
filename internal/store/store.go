// Package store opens projblog's one bbolt file, creates buckets, checks the
// schema version, encodes keys, keeps the event log and takes online backups.
// It knows no domain type: packages above it own their buckets and ask the
// store only for the file, the key helpers and the log.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"projblog/internal/apperr"
)

// SchemaVersion is the version of the data layout this build writes. A
// database with a higher version was written by a newer projblog and is
// refused; a lower one is migrated forward when it opens.
const SchemaVersion = 1

// FileName is the name of the database file inside the data directory.
const FileName = "projblog.db"

var (
	bucketMeta    = []byte("meta")
	bucketEvents  = []byte("events")
	bucketCursors = []byte("cursors")
	keySchema     = []byte("schema_version")
)

// migrations[i] upgrades a database from version i+1 to i+2, inside one
// write transaction. There are none yet; the slot is where they go.
var migrations []func(tx *bbolt.Tx) error

// Options tune Open.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another
	// process before it gives up with an Unavailable error. Zero means 1s.
	Timeout time.Duration
	// NoSync skips the fsync of each commit: for bulk loading (a seed, a
	// benchmark's setup) only, since a crash may lose the last commits.
	NoSync bool
}

// DB is the open database. It is safe for concurrent use.
type DB struct {
	bolt *bbolt.DB
	path string
	head atomic.Uint64

	mu      sync.Mutex
	waiters []chan struct{}
}

// Open opens (creating if needed) the database file in dir, creates the
// store's own buckets and checks the schema version. A file locked by
// another process yields an apperr.Unavailable error that says so; a file
// from a newer projblog yields apperr.Invalid.
func Open(dir string, opts Options) (*DB, error) {
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, apperr.Wrap(err, "create data directory %s", dir)
	}
	path := filepath.Join(dir, FileName)
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.Timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, &apperr.Error{Code: apperr.Unavailable,
				Message: fmt.Sprintf("database %s is in use by another process (is projblog serve running?); stop it or use another --data directory", path), Err: err}
		}
		return nil, apperr.Wrap(err, "open database %s", path)
	}
	b.NoSync = opts.NoSync
	db := &DB{bolt: b, path: path}
	if err := db.init(); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) init() error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketEvents, bucketCursors} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return apperr.Wrap(err, "create bucket %s", name)
			}
		}
		meta := tx.Bucket(bucketMeta)
		version := uint64(0)
		if v := meta.Get(keySchema); v != nil {
			version = U64(v)
		}
		if version > SchemaVersion {
			return apperr.New(apperr.Invalid,
				"database %s has schema version %d, but this projblog understands only up to version %d; upgrade projblog or restore an older backup",
				db.path, version, SchemaVersion)
		}
		if version == 0 {
			version = SchemaVersion // a new file starts at the current layout
		}
		for ; version < SchemaVersion; version++ {
			if err := migrations[version-1](tx); err != nil {
				return apperr.Wrap(err, "migrate database from version %d", version)
			}
		}
		if err := meta.Put(keySchema, Key(SchemaVersion)); err != nil {
			return err
		}
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			db.head.Store(U64(k))
		}
		return nil
	})
}

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Bolt returns the underlying bbolt handle for packages that own buckets.
// They must open exactly one transaction per public method.
func (db *DB) Bolt() *bbolt.DB { return db.bolt }

// EnsureBuckets creates the named top-level buckets if they are missing.
// Each package calls it with its own buckets when it is constructed.
func (db *DB) EnsureBuckets(names ...string) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists([]byte(n)); err != nil {
				return apperr.Wrap(err, "create bucket %s", n)
			}
		}
		return nil
	})
}

// SchemaVersionOf returns the recorded schema version (for tests and the
// admin page).
func (db *DB) SchemaVersionOf() (v uint64, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		v = U64(tx.Bucket(bucketMeta).Get(keySchema))
		return nil
	})
	return v, err
}

// SetSchemaVersion overwrites the recorded version. It exists so tests can
// make a database look as if a newer projblog wrote it.
func (db *DB) SetSchemaVersion(v uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, Key(v))
	})
}

// Backup writes a consistent copy of the whole database to w while others
// keep reading and writing, and returns the number of bytes written.
func (db *DB) Backup(w io.Writer) (n int64, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Key encodes n as an 8-byte big-endian key, so that bbolt's byte order is
// numeric order.
func Key(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// U64 decodes an 8-byte big-endian key; a shorter slice yields 0.
func U64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// TimeKey encodes t (as Unix nanoseconds, UTC) followed by id, both
// big-endian, so a cursor walks a time index in time order and ties break by
// id.
func TimeKey(t time.Time, id uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano()))
	binary.BigEndian.PutUint64(b[8:], id)
	return b
}

// SplitTimeKey decodes a key made by TimeKey.
func SplitTimeKey(b []byte) (time.Time, uint64) {
	if len(b) < 16 {
		return time.Time{}, 0
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC(), binary.BigEndian.Uint64(b[8:16])
}
