package users

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

func mustFeedToken(tb testing.TB, s *Service, userID uint64) string {
	tb.Helper()
	tok, err := s.FeedToken(userID)
	if err != nil {
		tb.Fatalf("FeedToken(%d): %v", userID, err)
	}
	return tok
}

func mustRegenerate(tb testing.TB, s *Service, userID uint64) string {
	tb.Helper()
	tok, err := s.RegenerateFeedToken(userID)
	if err != nil {
		tb.Fatalf("RegenerateFeedToken(%d): %v", userID, err)
	}
	return tok
}

// wantFeedUser fails unless token is the feed token of user id.
func wantFeedUser(tb testing.TB, s *Service, token string, id uint64) {
	tb.Helper()
	u, err := s.UserByFeedToken(token)
	if err != nil || u == nil || u.ID != id {
		tb.Fatalf("UserByFeedToken(%q) = %v, %v; want user %d", token, u, err, id)
	}
	if u.PasswordHash != nil {
		tb.Error("UserByFeedToken returned the password hash")
	}
}

// wantNoFeed fails unless token is refused the way every bad token is.
func wantNoFeed(tb testing.TB, s *Service, token string) {
	tb.Helper()
	u, err := s.UserByFeedToken(token)
	wantCode(tb, err, apperr.NotFound, "")
	if msg := apperr.MessageOf(err); msg != "No such feed." {
		tb.Errorf("message = %q, want the one answer for every bad token", msg)
	}
	if u != nil {
		tb.Errorf("UserByFeedToken returned %+v with an error", u)
	}
}

// feedIndex returns the users.feed_tokens bucket as hex(key) -> user ID.
func feedIndex(tb testing.TB, db *store.DB) map[string]uint64 {
	tb.Helper()
	out := map[string]uint64{}
	err := db.Bolt().View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketFeedTokens)).ForEach(func(k, v []byte) error {
			out[string(k)] = store.U64(v)
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return string(sum[:])
}

func storedSecret(tb testing.TB, db *store.DB) []byte {
	tb.Helper()
	var out []byte
	err := db.Bolt().View(func(tx *bbolt.Tx) error {
		v, err := feedSecret(tx)
		out = bytes.Clone(v)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestDeriveFeedToken pins the token format: changing it would break every
// feed URL people have pasted into their readers. The expected values were
// computed with Python's hmac module, not with this code.
func TestDeriveFeedToken(t *testing.T) {
	secret := make([]byte, feedSecretBytes)
	for i := range secret {
		secret[i] = byte(i)
	}
	tests := []struct {
		name    string
		id, gen uint64
		want    string
	}{
		{"FirstUser", 1, 0, "pbf_gunlocokchgmlajcp34eazsaekg4cjxq"},
		{"Regenerated", 1, 1, "pbf_fh2unu4mx2dsrm2243k2bhjh7gjalc7f"},
		{"OtherUser", 7, 3, "pbf_pbmjos2hgxlwccwtux4ljrs4x46uwow6"},
		{"MaxValues", ^uint64(0), ^uint64(0), "pbf_zprurx7mfo5hpakzn6awd5mvholne6n4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := deriveFeedToken(secret, tt.id, tt.gen)
			if got != tt.want {
				t.Errorf("deriveFeedToken(%d, %d) = %q, want %q", tt.id, tt.gen, got, tt.want)
			}
			if len(got) != feedTokenLen {
				t.Errorf("len = %d, want %d", len(got), feedTokenLen)
			}
			if _, ok := feedTokenKey(got); !ok {
				t.Errorf("feedTokenKey refuses a derived token %q", got)
			}
		})
	}
}

func TestFeedToken(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	head := db.Head()

	a := mustFeedToken(t, s, ada.ID)
	b := mustFeedToken(t, s, bob.ID)

	t.Run("Format", func(t *testing.T) {
		for _, tok := range []string{a, b} {
			body, ok := strings.CutPrefix(tok, "pbf_")
			if !ok || len(body) != 32 || strings.Trim(body, "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Errorf("token %q is not pbf_ + 32 lowercase base32 characters", tok)
			}
		}
	})
	t.Run("Stable", func(t *testing.T) {
		for range 3 {
			if got := mustFeedToken(t, s, ada.ID); got != a {
				t.Fatalf("FeedToken changed from %q to %q", a, got)
			}
		}
	})
	t.Run("UsersDiffer", func(t *testing.T) {
		if a == b {
			t.Fatalf("two users share the token %q", a)
		}
	})
	t.Run("Lookup", func(t *testing.T) {
		wantFeedUser(t, s, a, ada.ID)
		wantFeedUser(t, s, b, bob.ID)
	})
	t.Run("OneEntryPerUser", func(t *testing.T) {
		idx := feedIndex(t, db)
		want := map[string]uint64{hashOf(a): ada.ID, hashOf(b): bob.ID}
		if len(idx) != len(want) || idx[hashOf(a)] != ada.ID || idx[hashOf(b)] != bob.ID {
			t.Errorf("index = %v entries, want sha256(token) -> ID for both users", idx)
		}
	})
	t.Run("NoEvents", func(t *testing.T) {
		if db.Head() != head {
			t.Errorf("FeedToken appended events (head %d -> %d)", head, db.Head())
		}
	})
	t.Run("ErrNoUser", func(t *testing.T) {
		for _, id := range []uint64{0, 99} {
			tok, err := s.FeedToken(id)
			wantCode(t, err, apperr.NotFound, "")
			if tok != "" {
				t.Errorf("FeedToken(%d) = %q with an error", id, tok)
			}
		}
		if n := len(feedIndex(t, db)); n != 2 {
			t.Errorf("index has %d entries after unknown users, want 2", n)
		}
	})
}

// TestFeedTokenReopen: the token survives a restart, and New does not
// replace the secret of an existing database.
func TestFeedTokenReopen(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, db, c)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustFeedToken(t, s, ada.ID)
	secret := storedSecret(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s = mustNew(t, db, c)
	if got := storedSecret(t, db); !bytes.Equal(got, secret) {
		t.Fatal("reopening replaced the feed secret")
	}
	if got := mustFeedToken(t, s, ada.ID); got != tok {
		t.Errorf("FeedToken after reopen = %q, want %q", got, tok)
	}
	wantFeedUser(t, s, tok, ada.ID)
}

func TestFeedSecret(t *testing.T) {
	a, b := mustOpenDB(t), mustOpenDB(t)
	mustNew(t, a, newClock())
	mustNew(t, b, newClock())
	sa, sb := storedSecret(t, a), storedSecret(t, b)
	if len(sa) != feedSecretBytes || bytes.Equal(sa, make([]byte, feedSecretBytes)) {
		t.Errorf("secret = %x, want %d random bytes", sa, feedSecretBytes)
	}
	if bytes.Equal(sa, sb) {
		t.Error("two databases got the same secret")
	}

	t.Run("Damaged", func(t *testing.T) {
		s := mustNew(t, a, newClock())
		ada := mustCreate(t, s, "ada@example.com", "Ada", false)
		err := a.Bolt().Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Put(keyFeedSecret, []byte("short"))
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.FeedToken(ada.ID)
		wantCode(t, err, apperr.Internal, "")
	})
}

func TestRegenerateFeedToken(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	old := mustFeedToken(t, s, ada.ID)
	bobs := mustFeedToken(t, s, bob.ID)
	head := db.Head()
	c.Advance(time.Hour)

	tok := mustRegenerate(t, s, ada.ID)
	if tok == old {
		t.Fatal("RegenerateFeedToken returned the old token")
	}
	wantNoFeed(t, s, old)
	wantFeedUser(t, s, tok, ada.ID)
	if got := mustFeedToken(t, s, ada.ID); got != tok {
		t.Errorf("FeedToken after regenerate = %q, want the new %q", got, tok)
	}
	wantFeedUser(t, s, bobs, bob.ID) // other users keep theirs

	idx := feedIndex(t, db)
	if len(idx) != 2 || idx[hashOf(tok)] != ada.ID || idx[hashOf(bobs)] != bob.ID {
		t.Errorf("index after regenerate has %d entries, want one per user, the old hash gone", len(idx))
	}
	if raw := rawUser(t, db, ada.ID); raw.FeedTokenGeneration != 1 || !raw.UpdatedAt.Equal(c.Now()) {
		t.Errorf("stored user: generation %d, updated %v", raw.FeedTokenGeneration, raw.UpdatedAt)
	}

	t.Run("Event", func(t *testing.T) {
		evs, err := db.Events(head, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
		}
		ev := evs[0]
		var d EventData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Type != EventFeedTokenRegenerated || ev.ActorID != ada.ID || d.UserID != ada.ID ||
			d.Handle != "ada" || !ev.Time.Equal(c.Now()) {
			t.Errorf("event = %+v %+v", ev, d)
		}
		body, _ := json.Marshal(ev)
		for _, secret := range []string{tok, old, strings.TrimPrefix(tok, "pbf_"), strings.TrimPrefix(old, "pbf_")} {
			if strings.Contains(string(body), secret) {
				t.Errorf("event carries a token: %s", body)
			}
		}
	})

	t.Run("Again", func(t *testing.T) {
		third := mustRegenerate(t, s, ada.ID)
		if third == tok || third == old {
			t.Fatalf("third token %q repeats an earlier one", third)
		}
		wantNoFeed(t, s, tok)
		wantNoFeed(t, s, old)
		wantFeedUser(t, s, third, ada.ID)
	})

	t.Run("BeforeFirstUse", func(t *testing.T) {
		cy := mustCreate(t, s, "cy@example.com", "Cy", false)
		tok := mustRegenerate(t, s, cy.ID)
		wantFeedUser(t, s, tok, cy.ID)
		if got := mustFeedToken(t, s, cy.ID); got != tok {
			t.Errorf("FeedToken = %q, want %q", got, tok)
		}
	})

	t.Run("ErrNoUser", func(t *testing.T) {
		h := db.Head()
		tok, err := s.RegenerateFeedToken(99)
		wantCode(t, err, apperr.NotFound, "")
		if tok != "" || db.Head() != h {
			t.Errorf("RegenerateFeedToken(99) = %q, head %d -> %d", tok, h, db.Head())
		}
	})
}

func TestUserByFeedTokenMalformed(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustFeedToken(t, s, ada.ID)
	body := strings.TrimPrefix(tok, "pbf_")
	flip := func(c byte) byte {
		if c == 'a' {
			return 'b'
		}
		return 'a'
	}
	wellFormedUnknown := tok[:len(tok)-1] + string(flip(tok[len(tok)-1]))
	session := mustSession(t, s, ada.ID)

	tests := []struct{ name, token string }{
		{"Empty", ""},
		{"PrefixOnly", "pbf_"},
		{"BodyOnly", body},
		{"WrongPrefix", "pbx_" + body},
		{"Upper", strings.ToUpper(tok)},
		{"UpperBody", "pbf_" + strings.ToUpper(body)},
		{"Short", tok[:len(tok)-1]},
		{"Long", tok + "a"},
		{"Doubled", tok + tok},
		{"Padded", tok + "===="},
		{"Space", " " + tok},
		{"Newline", tok[:20] + "\n" + tok[21:]},
		{"NotBase32", "pbf_" + strings.Repeat("1", 32)},
		{"InvalidUTF8", "pbf_" + strings.Repeat("\xff", 32)},
		{"NUL", "pbf_" + strings.Repeat("\x00", 32)},
		{"WellFormedUnknown", wellFormedUnknown},
		{"SessionToken", session},
		{"Huge", strings.Repeat("pbf_", 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNoFeed(t, s, tt.token)
		})
	}
	wantFeedUser(t, s, tok, ada.ID) // and the real one still works

	// A stale index entry (one a bug left behind) must not let its token
	// in: the lookup derives the user's current token and compares.
	t.Run("StaleIndexEntry", func(t *testing.T) {
		err := db.Bolt().Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketFeedTokens)).Put([]byte(hashOf(wellFormedUnknown)), store.Key(ada.ID))
		})
		if err != nil {
			t.Fatal(err)
		}
		wantNoFeed(t, s, wellFormedUnknown)
		wantFeedUser(t, s, tok, ada.ID)
	})
}

func TestFeedTokenDeactivated(t *testing.T) {
	s, _, _ := mustService(t)
	mustCreate(t, s, "admin@example.com", "Admin", true)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustFeedToken(t, s, ada.ID)

	if err := s.SetActive(ada.ID, false); err != nil {
		t.Fatal(err)
	}
	wantNoFeed(t, s, tok)
	// The token still exists, so the settings page can show it; it just
	// does not work.
	if got := mustFeedToken(t, s, ada.ID); got != tok {
		t.Errorf("FeedToken of a deactivated user = %q, want %q", got, tok)
	}

	if err := s.SetActive(ada.ID, true); err != nil {
		t.Fatal(err)
	}
	wantFeedUser(t, s, tok, ada.ID) // documented: reactivation brings it back

	t.Run("RegeneratedWhileDeactivated", func(t *testing.T) {
		if err := s.SetActive(ada.ID, false); err != nil {
			t.Fatal(err)
		}
		fresh := mustRegenerate(t, s, ada.ID)
		wantNoFeed(t, s, fresh)
		if err := s.SetActive(ada.ID, true); err != nil {
			t.Fatal(err)
		}
		wantNoFeed(t, s, tok)
		wantFeedUser(t, s, fresh, ada.ID)
	})
}

func TestRotateFeedSecret(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	a, b := mustFeedToken(t, s, ada.ID), mustFeedToken(t, s, bob.ID)
	secret := storedSecret(t, db)
	head := db.Head()

	if err := s.RotateFeedSecret(); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(storedSecret(t, db), secret) {
		t.Fatal("RotateFeedSecret kept the secret")
	}
	wantNoFeed(t, s, a)
	wantNoFeed(t, s, b)
	if n := len(feedIndex(t, db)); n != 0 {
		t.Errorf("index has %d entries after rotation, want 0", n)
	}

	a2, b2 := mustFeedToken(t, s, ada.ID), mustFeedToken(t, s, bob.ID)
	if a2 == a || b2 == b || a2 == b2 {
		t.Errorf("tokens after rotation: %q, %q (before %q, %q)", a2, b2, a, b)
	}
	wantFeedUser(t, s, a2, ada.ID)
	wantFeedUser(t, s, b2, bob.ID)
	wantNoFeed(t, s, a)

	evs, err := db.Events(head, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != EventFeedSecretRotated || evs[0].ActorID != 0 ||
		evs[0].Data != nil || !evs[0].Time.Equal(c.Now()) {
		t.Errorf("events after rotation = %+v, want one %s", evs, EventFeedSecretRotated)
	}

	// Regenerating after a rotation still removes the live entry.
	a3 := mustRegenerate(t, s, ada.ID)
	wantNoFeed(t, s, a2)
	wantFeedUser(t, s, a3, ada.ID)
	if n := len(feedIndex(t, db)); n != 2 {
		t.Errorf("index has %d entries, want 2", n)
	}
}

// TestFeedTokenNotStored scans the database file: neither a token nor its
// raw bytes may be in it, only their hashes.
func TestFeedTokenNotStored(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, db, newClock())
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	tokens := []string{mustFeedToken(t, s, ada.ID), mustFeedToken(t, s, bob.ID), mustRegenerate(t, s, ada.ID)}
	tokens = append(tokens, mustFeedToken(t, s, ada.ID))
	if _, err := s.UserByFeedToken(tokens[2]); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		raw, err := feedTokenEncoding.DecodeString(strings.TrimPrefix(tok, feedTokenPrefix))
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range [][]byte{[]byte(tok), []byte(strings.TrimPrefix(tok, feedTokenPrefix)), raw} {
			if bytes.Contains(file, needle) {
				t.Errorf("the database file contains token %q (as %q)", tok, needle)
			}
		}
		// The scan must be able to fail: the hash is stored.
		if sum := sha256.Sum256([]byte(tok)); tok != tokens[0] && !bytes.Contains(file, sum[:]) {
			t.Errorf("the database file lacks the hash of live token %q; is the scan reading the right file?", tok)
		}
	}
}

// TestFeedTokenOldRecord: a user stored before feed tokens existed has no
// generation field and gets generation 0; a new record at generation 0 does
// not carry the field either.
func TestFeedTokenOldRecord(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	var stored []byte
	db.Bolt().View(func(tx *bbolt.Tx) error {
		stored = bytes.Clone(tx.Bucket([]byte(bucketUsers)).Get(store.Key(ada.ID)))
		return nil
	})
	if bytes.Contains(stored, []byte("FeedTokenGeneration")) {
		t.Errorf("a generation-0 record carries the field: %s", stored)
	}
	tok := mustFeedToken(t, s, ada.ID)
	var secret []byte
	db.Bolt().View(func(tx *bbolt.Tx) error {
		secret = bytes.Clone(tx.Bucket([]byte(bucketMeta)).Get(keyFeedSecret))
		return nil
	})
	if want := deriveFeedToken(secret, ada.ID, 0); tok != want {
		t.Errorf("token of an old record = %q, want generation 0's %q", tok, want)
	}
	mustRegenerate(t, s, ada.ID)
	if raw := rawUser(t, db, ada.ID); raw.FeedTokenGeneration != 1 {
		t.Errorf("generation after regenerate = %d, want 1", raw.FeedTokenGeneration)
	}
	// Other writes keep the generation.
	if _, err := s.UpdateProfile(ada.ID, Profile{Name: "Ada L."}); err != nil {
		t.Fatal(err)
	}
	if raw := rawUser(t, db, ada.ID); raw.FeedTokenGeneration != 1 {
		t.Errorf("generation after UpdateProfile = %d, want 1", raw.FeedTokenGeneration)
	}
}

// TestFeedTokenLookupIsARead holds bbolt's writer lock: once a user's token
// is indexed, showing it and looking it up must not wait for a write.
func TestFeedTokenLookupIsARead(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok := mustFeedToken(t, s, ada.ID)

	tx, err := db.Bolt().Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		got, err := s.FeedToken(ada.ID)
		if err == nil && got != tok {
			err = apperr.New(apperr.Internal, "FeedToken = %q, want %q", got, tok)
		}
		if err == nil {
			_, err = s.UserByFeedToken(tok)
		}
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
		t.Error("FeedToken or UserByFeedToken waited for the writer lock")
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		<-done
	}
}

// TestConcurrentFeedToken: first calls racing each other agree on one token
// and leave one index entry; lookups and a regeneration race them too.
func TestConcurrentFeedToken(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	const n = 16
	toks := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { toks[i], errs[i] = s.FeedToken(ada.ID) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("call %d = %q, %v; call 0 = %q", i, toks[i], errs[i], toks[0])
		}
	}
	if idx := feedIndex(t, db); len(idx) != 1 || idx[hashOf(toks[0])] != ada.ID {
		t.Fatalf("index after concurrent first calls has %d entries, want 1", len(idx))
	}

	var fresh string
	for i := range n {
		wg.Go(func() {
			if i == 0 {
				fresh, errs[0] = s.RegenerateFeedToken(ada.ID)
				return
			}
			// Either answer is right while the regeneration races; neither
			// may be an internal error.
			if _, err := s.UserByFeedToken(toks[0]); err != nil && !apperr.Is(err, apperr.NotFound) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	wantNoFeed(t, s, toks[0])
	wantFeedUser(t, s, fresh, ada.ID)
}
