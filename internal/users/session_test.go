package users

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// rawSession reads the stored session of token, nil when there is none.
func rawSession(tb testing.TB, db *store.DB, token string) *session {
	tb.Helper()
	sum := sha256.Sum256([]byte(token))
	var se *session
	err := db.Bolt().View(func(tx *bbolt.Tx) error {
		var err error
		se, err = getSession(tx, sum[:])
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return se
}

func countSessions(tb testing.TB, db *store.DB) int {
	tb.Helper()
	var n int
	db.Bolt().View(func(tx *bbolt.Tx) error {
		n = tx.Bucket([]byte(bucketSessions)).Stats().KeyN
		return nil
	})
	return n
}

func mustSession(tb testing.TB, s *Service, userID uint64) string {
	tb.Helper()
	tok, err := s.CreateSession(userID, "Mozilla/5.0 (test)")
	if err != nil {
		tb.Fatalf("CreateSession(%d): %v", userID, err)
	}
	return tok
}

func wantExpired(tb testing.TB, s *Service, token string) {
	tb.Helper()
	u, err := s.Session(token)
	wantCode(tb, err, apperr.Unauthorized, "")
	if msg := apperr.MessageOf(err); msg != "Your session has expired; please log in again." {
		tb.Errorf("message = %q", msg)
	}
	if u != nil {
		tb.Errorf("Session returned %+v with an error", u)
	}
}

func wantSession(tb testing.TB, s *Service, token string, id uint64) {
	tb.Helper()
	u, err := s.Session(token)
	if err != nil || u.ID != id {
		tb.Fatalf("Session = %v, %v; want user %d", u, err, id)
	}
	if u.PasswordHash != nil {
		tb.Error("Session returned the hash")
	}
}

func TestSession(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", true)
	tok := mustSession(t, s, ada.ID)

	t.Run("Token", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes, %v", tok, len(raw), err)
		}
		if tok2 := mustSession(t, s, ada.ID); tok2 == tok {
			t.Error("two sessions got the same token")
		}
	})
	t.Run("OnlyHashStored", func(t *testing.T) {
		err := db.Bolt().View(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketSessions)).ForEach(func(k, v []byte) error {
				if strings.Contains(string(k)+string(v), tok) {
					t.Error("the token itself is stored")
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		se := rawSession(t, db, tok)
		if se == nil || se.UserID != ada.ID || se.UserAgent != "Mozilla/5.0 (test)" || !se.ExpiresAt.Equal(c.Now().Add(DefaultSessionTTL)) {
			t.Errorf("stored session = %+v", se)
		}
	})
	t.Run("Lookup", func(t *testing.T) { wantSession(t, s, tok, ada.ID) })
	for _, bad := range []string{"", "short", tok + "x", strings.Repeat("A", 43), "!!" + tok[2:], "\xff"} {
		t.Run("Unknown/"+bad, func(t *testing.T) { wantExpired(t, s, bad) })
	}
	t.Run("Delete", func(t *testing.T) {
		tok2 := mustSession(t, s, ada.ID)
		if err := s.DeleteSession(tok2); err != nil {
			t.Fatal(err)
		}
		wantExpired(t, s, tok2)
		wantSession(t, s, tok, ada.ID) // the other session lives on
		if err := s.DeleteSession(tok2); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
		if err := s.DeleteSession("garbage"); err != nil {
			t.Errorf("deleting garbage: %v", err)
		}
	})
	t.Run("CreateForUnknownUser", func(t *testing.T) {
		_, err := s.CreateSession(999, "")
		wantCode(t, err, apperr.NotFound, "")
	})
	t.Run("LongUserAgent", func(t *testing.T) {
		tok2, err := s.CreateSession(ada.ID, strings.Repeat("é", 300)+"\xff")
		if err != nil {
			t.Fatal(err)
		}
		if ua := rawSession(t, db, tok2).UserAgent; len(ua) > maxUserAgentBytes || !strings.HasPrefix(ua, "éé") || strings.ContainsRune(ua, '\uFFFD') {
			t.Errorf("stored user agent %q (%d bytes)", ua, len(ua))
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)

	t.Run("Expires", func(t *testing.T) {
		tok := mustSession(t, s, ada.ID)
		c.Advance(DefaultSessionTTL - time.Second)
		wantSession(t, s, tok, ada.ID)
		// That use renewed it: it now lives 30 days from here.
		c.Advance(DefaultSessionTTL - time.Second)
		wantSession(t, s, tok, ada.ID)
		c.Advance(DefaultSessionTTL)
		wantExpired(t, s, tok)
	})
	t.Run("SlidingRenewalWritesAtMostHourly", func(t *testing.T) {
		tok := mustSession(t, s, ada.ID)
		created := rawSession(t, db, tok)
		steps := []struct {
			advance     time.Duration
			wantRenewed bool
		}{
			{30 * time.Minute, false},
			{29 * time.Minute, false},
			{time.Minute, true}, // one hour after creation
			{59 * time.Minute, false},
			{2 * time.Hour, true},
			{20 * 24 * time.Hour, true},
			{20 * 24 * time.Hour, true}, // 40 days after creation, alive
		}
		before := created
		for i, st := range steps {
			c.Advance(st.advance)
			wantSession(t, s, tok, ada.ID)
			after := rawSession(t, db, tok)
			renewed := !after.RenewedAt.Equal(before.RenewedAt)
			if renewed != st.wantRenewed {
				t.Fatalf("step %d: renewed = %v, want %v (%+v -> %+v)", i, renewed, st.wantRenewed, before, after)
			}
			if renewed && (!after.RenewedAt.Equal(c.Now()) || !after.ExpiresAt.Equal(c.Now().Add(DefaultSessionTTL))) {
				t.Fatalf("step %d: renewed to %+v at %v", i, after, c.Now())
			}
			if !after.CreatedAt.Equal(created.CreatedAt) {
				t.Fatalf("step %d: CreatedAt moved", i)
			}
			before = after
		}
	})
	t.Run("ShortTTL", func(t *testing.T) {
		s2, err := New(db, Options{Now: c.Now, BcryptCost: 4, SessionTTL: 40 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		tok := mustSession(t, s2, ada.ID)
		for range 4 { // 80 minutes of activity, every 20
			c.Advance(20 * time.Minute)
			wantSession(t, s2, tok, ada.ID)
		}
		c.Advance(40 * time.Minute)
		wantExpired(t, s2, tok)
	})
}

func TestPurgeExpiredSessions(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	old1 := mustSession(t, s, ada.ID)
	old2 := mustSession(t, s, ada.ID)
	c.Advance(DefaultSessionTTL / 2)
	fresh := mustSession(t, s, ada.ID)
	c.Advance(DefaultSessionTTL / 2)

	n, err := s.PurgeExpiredSessions()
	if err != nil || n != 2 {
		t.Fatalf("PurgeExpiredSessions = %d, %v; want 2", n, err)
	}
	if rawSession(t, db, old1) != nil || rawSession(t, db, old2) != nil {
		t.Error("expired sessions still stored")
	}
	wantSession(t, s, fresh, ada.ID)

	t.Run("FromCreateSession", func(t *testing.T) {
		c.Advance(DefaultSessionTTL + time.Hour)
		mustSession(t, s, ada.ID) // more than an hour since the last purge
		if n := countSessions(t, db); n != 1 {
			t.Errorf("%d sessions stored after an opportunistic purge, want 1", n)
		}
	})
}

func TestSessionsEndWithPassword(t *testing.T) {
	s, _, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	t1, t2 := mustSession(t, s, ada.ID), mustSession(t, s, ada.ID)
	tb := mustSession(t, s, bob.ID)

	t.Run("Invalid", func(t *testing.T) {
		wantCode(t, s.SetPassword(ada.ID, "short"), apperr.Invalid, "password")
		wantSession(t, s, t1, ada.ID) // nothing changed
	})
	t.Run("NotFound", func(t *testing.T) {
		wantCode(t, s.SetPassword(999, "a long new password"), apperr.NotFound, "")
	})
	t.Run("OK", func(t *testing.T) {
		if err := s.SetPassword(ada.ID, "a long new password"); err != nil {
			t.Fatal(err)
		}
		wantExpired(t, s, t1)
		wantExpired(t, s, t2)
		wantSession(t, s, tb, bob.ID)
		_, err := s.Authenticate("ada@example.com", testPassword, "")
		wantCode(t, err, apperr.Unauthorized, "")
		if _, err := s.Authenticate("ada@example.com", "a long new password", ""); err != nil {
			t.Errorf("new password refused: %v", err)
		}
	})
}

func TestSessionsEndWithDeactivation(t *testing.T) {
	s, db, _ := mustService(t)
	mustCreate(t, s, "admin@example.com", "Admin", true)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustSession(t, s, ada.ID)

	if err := s.SetActive(ada.ID, false); err != nil {
		t.Fatal(err)
	}
	wantExpired(t, s, tok)
	if rawSession(t, db, tok) != nil {
		t.Error("deactivation left the session stored")
	}
	_, err := s.CreateSession(ada.ID, "")
	wantCode(t, err, apperr.Unauthorized, "")
	_, err = s.Authenticate("ada@example.com", testPassword, "")
	wantCode(t, err, apperr.Unauthorized, "")

	if err := s.SetActive(ada.ID, true); err != nil {
		t.Fatal(err)
	}
	wantExpired(t, s, tok) // reactivation does not revive old sessions
	if _, err := s.Authenticate("ada@example.com", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, mustSession(t, s, ada.ID), ada.ID)
}

// TestSessionInactiveUser checks the lookup itself refuses a deactivated
// user, even if a session record were left behind.
func TestSessionInactiveUser(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustSession(t, s, ada.ID)
	raw := rawUser(t, db, ada.ID)
	raw.Active = false
	if err := db.Bolt().Update(func(tx *bbolt.Tx) error { return putUser(tx, raw) }); err != nil {
		t.Fatal(err)
	}
	wantExpired(t, s, tok)
}

func TestDeleteUserSessions(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	var adas []string
	for range 5 {
		adas = append(adas, mustSession(t, s, ada.ID))
	}
	tb := mustSession(t, s, bob.ID)
	if err := s.DeleteUserSessions(ada.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range adas {
		wantExpired(t, s, tok)
	}
	wantSession(t, s, tb, bob.ID)
	if n := countSessions(t, db); n != 1 {
		t.Errorf("%d sessions stored, want 1", n)
	}
	if err := s.DeleteUserSessions(999); err != nil {
		t.Errorf("no such user: %v", err)
	}
}

// TestConcurrentSessions exercises lookups racing with renewals and
// deletions under -race.
func TestConcurrentSessions(t *testing.T) {
	s, _, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustSession(t, s, ada.ID)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				if i == 0 {
					c.Advance(10 * time.Minute)
				}
				if _, err := s.Session(tok); err != nil {
					t.Errorf("Session: %v", err)
				}
				other, err := s.CreateSession(ada.ID, "")
				if err != nil {
					t.Errorf("CreateSession: %v", err)
				}
				if err := s.DeleteSession(other); err != nil {
					t.Errorf("DeleteSession: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

// TestSessionLookupIsARead holds bbolt's writer lock while looking a
// session up: a lookup that is not due for renewal must still answer,
// because it opens no write transaction.
func TestSessionLookupIsARead(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustSession(t, s, ada.ID)
	c.Advance(59 * time.Minute)

	tx, err := db.Bolt().Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Session(tok)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Session waited for the writer lock although no renewal was due")
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		<-done // the blocked lookup finishes once the lock is free
	}
}

// TestRenewRechecks covers the race of two requests deciding to renew the
// same session: the second finds the renewal done and writes nothing.
func TestRenewRechecks(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustSession(t, s, ada.ID)
	key, _ := sessionKey(tok)
	c.Advance(2 * time.Hour)
	if err := s.renew(key, c.Now()); err != nil {
		t.Fatal(err)
	}
	first := rawSession(t, db, tok)
	if !first.RenewedAt.Equal(c.Now()) {
		t.Fatalf("not renewed: %+v", first)
	}
	later := c.Now().Add(time.Minute)
	if err := s.renew(key, later); err != nil {
		t.Fatal(err)
	}
	if got := rawSession(t, db, tok); !got.RenewedAt.Equal(first.RenewedAt) {
		t.Errorf("renewed again a minute later: %+v", got)
	}
	if err := s.DeleteSession(tok); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.renew(key, later.Add(2*time.Hour)), apperr.Unauthorized, "")
}

// TestSessionCache shows the lookups are remembered (a session removed
// behind the package's back still answers), and that any write of the
// package makes the next lookup read the database again.
func TestSessionCache(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	tok := mustSession(t, s, ada.ID)
	if u, err := s.Session(tok); err != nil || u.Name != "Ada" {
		t.Fatalf("first lookup: %+v, %v", u, err)
	}
	// Remove every session straight from the bucket: the package does not
	// see it, so the remembered answer stands.
	must(t, db.Bolt().Update(func(tx *bbolt.Tx) error {
		return tx.DeleteBucket([]byte(bucketSessions))
	}))
	must(t, db.Bolt().Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte(bucketSessions))
		return err
	}))
	if u, err := s.Session(tok); err != nil || u.ID != ada.ID {
		t.Fatalf("a remembered lookup went to the database: %+v, %v", u, err)
	}
	// Any write of the package (here: Bob's profile) forgets it.
	if _, err := s.UpdateProfile(bob.ID, Profile{Name: "Robert"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(tok); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("after a write, the removed session still answers: %v", err)
	}

	// A name change shows at the next request; a logout ends it at once.
	tok = mustSession(t, s, ada.ID)
	if _, err := s.Session(tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateProfile(ada.ID, Profile{Name: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Session(tok); err != nil || u.Name != "Ada Lovelace" {
		t.Fatalf("after a rename: %+v, %v", u, err)
	}
	must(t, s.DeleteSession(tok))
	if _, err := s.Session(tok); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("after logout: %v", err)
	}

	// The renewal still happens: a remembered session is not used once its
	// renewal is due, and the expiry slides.
	tok = mustSession(t, s, ada.ID)
	if _, err := s.Session(tok); err != nil {
		t.Fatal(err)
	}
	c.Advance(s.renewEvery + time.Minute)
	if _, err := s.Session(tok); err != nil {
		t.Fatal(err)
	}
	c.Advance(s.ttl - time.Minute)
	if _, err := s.Session(tok); err != nil {
		t.Fatalf("the session was not renewed while it was remembered: %v", err)
	}
	// A changed returned copy does not change what is remembered.
	u, _ := s.Session(tok)
	u.Name = "Mallory"
	if u2, _ := s.Session(tok); u2.Name != "Ada Lovelace" {
		t.Fatalf("the cache hands out its own record: %q", u2.Name)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
