package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

func mustOpenDB(tb testing.TB, dir string) *store.DB {
	tb.Helper()
	db, err := store.Open(dir, store.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	return db
}

func TestOpenCreatesFileAndSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db := mustOpenDB(t, dir)
	defer db.Close()
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Fatalf("no database file: %v", err)
	}
	v, err := db.SchemaVersionOf()
	if err != nil || v != store.SchemaVersion {
		t.Fatalf("schema version %d, %v; want %d", v, err, store.SchemaVersion)
	}
}

func TestOpenTwiceIsInUse(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDB(t, dir)
	defer db.Close()
	_, err := store.Open(dir, store.Options{Timeout: 100 * time.Millisecond})
	if !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("second open: %v, want Unavailable", err)
	}
	if !strings.Contains(apperr.MessageOf(err), "in use") {
		t.Errorf("message %q does not say the database is in use", apperr.MessageOf(err))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDB(t, dir)
	if err := db.SetSchemaVersion(store.SchemaVersion + 1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := store.Open(dir, store.Options{})
	if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "upgrade projblog") {
		t.Fatalf("open newer database: %v", err)
	}
	// The refusal changed nothing: the version is still the newer one.
	b, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.View(func(tx *bbolt.Tx) error {
		if got := store.U64(tx.Bucket([]byte("meta")).Get([]byte("schema_version"))); got != store.SchemaVersion+1 {
			t.Errorf("version rewritten to %d", got)
		}
		return nil
	})
}

func TestKeysSortInOrder(t *testing.T) {
	if bytes.Compare(store.Key(255), store.Key(256)) >= 0 {
		t.Error("Key(255) does not sort before Key(256)")
	}
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	t2 := t1.Add(time.Nanosecond)
	if bytes.Compare(store.TimeKey(t1, 99), store.TimeKey(t2, 1)) >= 0 {
		t.Error("time keys do not sort by time first")
	}
	if bytes.Compare(store.TimeKey(t1, 1), store.TimeKey(t1, 2)) >= 0 {
		t.Error("equal times do not sort by id")
	}
	gt, id := store.SplitTimeKey(store.TimeKey(t1, 42))
	if !gt.Equal(t1) || id != 42 {
		t.Errorf("SplitTimeKey = %v, %d", gt, id)
	}
	if store.U64(store.Key(1<<40+7)) != 1<<40+7 {
		t.Error("Key/U64 round trip")
	}
}

// appendIn writes a record and its event in one transaction, as domain
// packages do; fail makes the transaction roll back after appending.
func appendIn(t *testing.T, db *store.DB, typ string, fail bool) error {
	t.Helper()
	return db.Bolt().Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("things"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte(typ), []byte("x")); err != nil {
			return err
		}
		if _, err := db.AppendEvent(tx, store.Event{Type: typ, Time: time.Date(2026, 11, 2, 0, 0, 0, 0, time.FixedZone("EST", -5*3600)), Data: json.RawMessage(`{"n":1}`)}); err != nil {
			return err
		}
		if fail {
			return errors.New("boom")
		}
		return nil
	})
}

func TestEventLog(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDB(t, dir)
	if db.Head() != 0 {
		t.Fatalf("empty log head %d", db.Head())
	}
	wake := db.Wait()
	for _, typ := range []string{"a", "b", "c"} {
		if err := appendIn(t, db, typ, false); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-wake:
	default:
		t.Fatal("Wait channel not closed after a commit")
	}
	if err := appendIn(t, db, "rolled-back", true); err == nil {
		t.Fatal("failing transaction succeeded")
	}
	if db.Head() != 3 {
		t.Fatalf("head %d after 3 commits and a rollback, want 3", db.Head())
	}
	evs, err := db.Events(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, ev := range evs {
		types = append(types, ev.Type)
		if ev.Seq != uint64(i+1) {
			t.Errorf("event %d has seq %d", i, ev.Seq)
		}
		if ev.Time.Location() != time.UTC {
			t.Errorf("event time not stored in UTC: %v", ev.Time)
		}
	}
	if strings.Join(types, ",") != "a,b,c" {
		t.Fatalf("events %v; the rolled-back one must not be there", types)
	}
	if evs, _ := db.Events(2, 10); len(evs) != 1 || evs[0].Type != "c" {
		t.Fatalf("Events(after 2) = %v", evs)
	}

	// A consumer handles a batch, fails on the next, and resumes after
	// the process restarts, from its durable cursor.
	var seen []string
	n, err := db.Consume("indexer", 2, func(evs []store.Event) error {
		for _, ev := range evs {
			seen = append(seen, ev.Type)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("consume: %d, %v", n, err)
	}
	if _, err := db.Consume("indexer", 2, func([]store.Event) error { return errors.New("crash") }); err == nil {
		t.Fatal("a failing handler advanced silently")
	}
	db.Close()

	db = mustOpenDB(t, dir)
	defer db.Close()
	if db.Head() != 3 {
		t.Fatalf("head after reopen %d", db.Head())
	}
	cur, _ := db.CursorOf("indexer")
	if cur != 2 {
		t.Fatalf("cursor after reopen %d, want 2", cur)
	}
	n, err = db.Consume("indexer", 10, func(evs []store.Event) error {
		for _, ev := range evs {
			seen = append(seen, ev.Type)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("resume: %d, %v", n, err)
	}
	if strings.Join(seen, ",") != "a,b,c" {
		t.Fatalf("consumer saw %v, want each event once in order", seen)
	}
	if n, _ := db.Consume("indexer", 10, func([]store.Event) error { t.Fatal("nothing new"); return nil }); n != 0 {
		t.Fatal("consumer handed events twice")
	}
	if cur, _ := db.CursorOf("other"); cur != 0 {
		t.Fatal("a new consumer does not start at 0")
	}
}

func TestConcurrentAppendsKeepOrder(t *testing.T) {
	db := mustOpenDB(t, t.TempDir())
	defer db.Close()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				_ = db.Bolt().Update(func(tx *bbolt.Tx) error {
					_, err := db.AppendEvent(tx, store.Event{Type: "x"})
					return err
				})
			}
		}()
	}
	wg.Wait()
	evs, _ := db.Events(0, 1000)
	if len(evs) != 200 || db.Head() != 200 {
		t.Fatalf("%d events, head %d; want 200", len(evs), db.Head())
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("gap or disorder at %d: seq %d", i, ev.Seq)
		}
	}
}

func TestBackupIsAConsistentCopy(t *testing.T) {
	db := mustOpenDB(t, t.TempDir())
	defer db.Close()
	if err := appendIn(t, db, "a", false); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("backup: %d bytes, %v", n, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, store.FileName), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	copyDB := mustOpenDB(t, dir)
	defer copyDB.Close()
	if copyDB.Head() != 1 {
		t.Fatalf("backup has head %d", copyDB.Head())
	}
}

func TestEnsureBuckets(t *testing.T) {
	db := mustOpenDB(t, t.TempDir())
	defer db.Close()
	if err := db.EnsureBuckets("one", "two"); err != nil {
		t.Fatal(err)
	}
	if err := db.EnsureBuckets("one"); err != nil {
		t.Fatal("EnsureBuckets is not idempotent:", err)
	}
	db.Bolt().View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte("one")) == nil || tx.Bucket([]byte("two")) == nil {
			t.Error("buckets missing")
		}
		return nil
	})
}

func TestSecret(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bucket, name := []byte("test.meta"), []byte("signing")
	if err := db.EnsureBuckets(string(bucket)); err != nil {
		t.Fatal(err)
	}
	if s, err := db.ExistingSecret(bucket, name); err != nil || s != nil {
		t.Fatalf("before any: %x, %v", s, err)
	}
	// Callers racing for the first secret all get the same one.
	got := make(chan []byte, 8)
	for range 8 {
		go func() {
			s, err := db.Secret(bucket, name)
			if err != nil {
				t.Error(err)
			}
			got <- s
		}()
	}
	first := <-got
	if len(first) != store.SecretBytes {
		t.Fatalf("secret of %d bytes", len(first))
	}
	for range 7 {
		if s := <-got; string(s) != string(first) {
			t.Fatal("two callers got different secrets")
		}
	}
	if s, _ := db.ExistingSecret(bucket, name); string(s) != string(first) {
		t.Fatal("ExistingSecret does not read the secret made")
	}
	first[0]++ // the caller's copy: the stored secret stays
	if s, _ := db.Secret(bucket, name); s[0] == first[0] {
		t.Fatal("Secret handed out the database's memory")
	}
}
