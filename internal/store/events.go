package store

import (
	"encoding/json"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
)

// Event is one entry of the event log: something happened that others
// (notification, search, webhooks, caches) must react to. Type names what
// happened ("post.published"); the IDs say to what; Data carries the rest as
// JSON that the emitting package defines.
type Event struct {
	Seq       uint64          `json:"seq"`
	Type      string          `json:"type"`
	Time      time.Time       `json:"time"`
	ActorID   uint64          `json:"actor_id,omitempty"`
	ProjectID uint64          `json:"project_id,omitempty"`
	PostID    uint64          `json:"post_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// AppendEvent appends ev to the log inside tx, the same write transaction
// as the change it reports, so the two commit or fail together. It sets
// ev.Seq and returns it. Waiters are woken when tx commits.
func (db *DB) AppendEvent(tx *bbolt.Tx, ev Event) (uint64, error) {
	b := tx.Bucket(bucketEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, apperr.Wrap(err, "event sequence")
	}
	ev.Seq = seq
	ev.Time = ev.Time.UTC()
	v, err := json.Marshal(ev)
	if err != nil {
		return 0, apperr.Wrap(err, "encode event %s", ev.Type)
	}
	if err := b.Put(Key(seq), v); err != nil {
		return 0, apperr.Wrap(err, "append event %s", ev.Type)
	}
	tx.OnCommit(func() { db.advance(seq) })
	return seq, nil
}

// Head returns the sequence number of the newest committed event, 0 when the
// log is empty. It moves on every write others must see, so it stamps caches
// and ETags.
func (db *DB) Head() uint64 { return db.head.Load() }

func (db *DB) advance(seq uint64) {
	for {
		cur := db.head.Load()
		if seq <= cur || db.head.CompareAndSwap(cur, seq) {
			break
		}
	}
	db.mu.Lock()
	ws := db.waiters
	db.waiters = nil
	db.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// Wait returns a channel that is closed the next time an event commits. A
// consumer loop selects on it instead of polling.
func (db *DB) Wait() <-chan struct{} {
	ch := make(chan struct{})
	db.mu.Lock()
	db.waiters = append(db.waiters, ch)
	db.mu.Unlock()
	return ch
}

// Events returns up to limit events with Seq > after, oldest first.
func (db *DB) Events(after uint64, limit int) ([]Event, error) {
	var out []Event
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(Key(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return apperr.Wrap(err, "decode event %d", U64(k))
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// CursorOf returns the durable position of the named consumer: the Seq of
// the last event it has fully handled, 0 if it has never run.
func (db *DB) CursorOf(name string) (seq uint64, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		seq = U64(tx.Bucket(bucketCursors).Get([]byte(name)))
		return nil
	})
	return seq, err
}

// SetCursor records that the named consumer has handled every event up to
// and including seq.
func (db *DB) SetCursor(name string, seq uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCursors).Put([]byte(name), Key(seq))
	})
}

// Consume hands the named consumer the next batch (up to limit) of events
// after its cursor, and advances the cursor only when handle returns nil.
// Delivery is therefore at least once: a crash inside handle means the same
// batch comes again, so handle must be idempotent or record its own
// progress. It returns how many events were handled.
func (db *DB) Consume(name string, limit int, handle func([]Event) error) (int, error) {
	after, err := db.CursorOf(name)
	if err != nil {
		return 0, err
	}
	evs, err := db.Events(after, limit)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	if err := handle(evs); err != nil {
		return 0, err
	}
	return len(evs), db.SetCursor(name, evs[len(evs)-1].Seq)
}
