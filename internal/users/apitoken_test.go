package users

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

func mustAPIToken(tb testing.TB, s *Service, userID uint64, name string, scope APIScope) (string, *APIToken) {
	tb.Helper()
	tok, t, err := s.CreateAPIToken(userID, name, scope)
	if err != nil {
		tb.Fatalf("CreateAPIToken(%d, %q, %q): %v", userID, name, scope, err)
	}
	return tok, t
}

// wantAPIUser fails unless token is a working token of user id with scope.
func wantAPIUser(tb testing.TB, s *Service, token string, id uint64, scope APIScope) {
	tb.Helper()
	u, sc, err := s.UserByAPIToken(token)
	if err != nil || u == nil || u.ID != id || sc != scope {
		tb.Fatalf("UserByAPIToken = %v, %q, %v; want user %d with scope %q", u, sc, err, id, scope)
	}
	if u.PasswordHash != nil {
		tb.Error("UserByAPIToken returned the password hash")
	}
}

// wantBadAPIToken fails unless token is refused with the one answer for
// every token that does not exist.
func wantBadAPIToken(tb testing.TB, s *Service, token string) {
	tb.Helper()
	u, sc, err := s.UserByAPIToken(token)
	wantCode(tb, err, apperr.Unauthorized, "")
	if msg := apperr.MessageOf(err); msg != "This API token is not valid: it is mistyped, unknown or revoked." {
		tb.Errorf("message = %q, want the one answer for every bad token", msg)
	}
	if u != nil || sc != "" {
		tb.Errorf("UserByAPIToken returned %+v, %q with an error", u, sc)
	}
}

// apiTokenBuckets returns both buckets: hash -> record, and index key ->
// hash (keys as raw strings).
func apiTokenBuckets(tb testing.TB, db *store.DB) (recs map[string]apiTokenRec, idx map[string]string) {
	tb.Helper()
	recs, idx = map[string]apiTokenRec{}, map[string]string{}
	err := db.Bolt().View(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte(bucketAPITokens)).ForEach(func(k, v []byte) error {
			var r apiTokenRec
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			recs[string(k)] = r
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketAPITokensByUser)).ForEach(func(k, v []byte) error {
			idx[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return recs, idx
}

// eventsOf returns the logged events of type typ.
func eventsOf(tb testing.TB, db *store.DB, typ string) []store.Event {
	tb.Helper()
	all, err := db.Events(0, 10000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []store.Event
	for _, ev := range all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

var apiTokenShape = regexp.MustCompile(`^pba_[a-z2-7]{52}$`)

func TestCreateAPIToken(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)

	tok, at := mustAPIToken(t, s, ada.ID, "  CI release notes  ", ScopeWrite)
	if !apiTokenShape.MatchString(tok) {
		t.Fatalf("token %q does not have the documented shape", tok)
	}
	if at.ID == 0 || at.UserID != ada.ID || at.Name != "CI release notes" || at.Scope != ScopeWrite ||
		!at.CreatedAt.Equal(c.Now()) || !at.LastUsedAt.IsZero() {
		t.Errorf("token = %+v", at)
	}
	wantAPIUser(t, s, tok, ada.ID, ScopeWrite)

	tok2, at2 := mustAPIToken(t, s, ada.ID, "dashboard", ScopeRead)
	tok3, _ := mustAPIToken(t, s, bob.ID, "dashboard", ScopeRead)
	if tok2 == tok || tok3 == tok2 || at2.ID == at.ID {
		t.Fatal("two tokens are the same")
	}
	wantAPIUser(t, s, tok2, ada.ID, ScopeRead)
	wantAPIUser(t, s, tok3, bob.ID, ScopeRead)

	// Only the hash is stored, keyed by itself and indexed per user.
	recs, idx := apiTokenBuckets(t, db)
	if len(recs) != 3 || len(idx) != 3 {
		t.Fatalf("%d records and %d index entries, want 3 and 3", len(recs), len(idx))
	}
	r, ok := recs[hashOf(tok)]
	if !ok || string(r.Hash) != hashOf(tok) || r.UserID != ada.ID {
		t.Fatalf("no record under sha256(token): %+v", r)
	}
	if idx[string(apiTokenIndexKey(ada.ID, at.ID))] != hashOf(tok) {
		t.Error("the per-user index does not point at the token's hash")
	}

	// The created event names the token, never carries it.
	evs := eventsOf(t, db, EventAPITokenCreated)
	if len(evs) != 3 {
		t.Fatalf("%d %s events, want 3", len(evs), EventAPITokenCreated)
	}
	var data APITokenEventData
	if err := json.Unmarshal(evs[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data != (APITokenEventData{UserID: ada.ID, TokenID: at.ID, Name: "CI release notes", Scope: ScopeWrite}) || evs[0].ActorID != ada.ID {
		t.Errorf("event = %+v, data %+v", evs[0], data)
	}
	for _, ev := range evs {
		if strings.Contains(string(ev.Data), "pba_") || bytes.Contains(ev.Data, []byte(hashOf(tok))) {
			t.Errorf("event %d carries a token: %s", ev.Seq, ev.Data)
		}
	}

	// No token is in the database file in any form a reader could use.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok, tok2, tok3} {
		raw, err := feedTokenEncoding.DecodeString(strings.TrimPrefix(tk, apiTokenPrefix))
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range [][]byte{[]byte(tk), []byte(strings.TrimPrefix(tk, apiTokenPrefix)), raw} {
			if bytes.Contains(file, needle) {
				t.Errorf("the database file holds token %q (as %q)", tk, needle)
			}
		}
		// The scan must be able to fail: the hash is stored.
		if !bytes.Contains(file, []byte(hashOf(tk))) {
			t.Errorf("the database file lacks the hash of token %q; is the scan reading the right file?", tk)
		}
	}
}

func TestCreateAPITokenInvalid(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	head := db.Head()
	for _, tc := range []struct {
		name, tokenName string
		scope           APIScope
		field           string
	}{
		{"EmptyName", "   ", ScopeRead, "name"},
		{"LongName", strings.Repeat("é", MaxAPITokenNameRunes+1), ScopeRead, "name"},
		{"LineBreak", "CI\nnotes", ScopeRead, "name"},
		{"BadUTF8", "CI \xff", ScopeRead, "name"},
		{"NoScope", "CI", "", "scope"},
		{"BadScope", "CI", "admin", "scope"},
		{"UpperScope", "CI", "WRITE", "scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, at, err := s.CreateAPIToken(ada.ID, tc.tokenName, tc.scope)
			wantCode(t, err, apperr.Invalid, tc.field)
			if tok != "" || at != nil {
				t.Errorf("got %q, %+v with an error", tok, at)
			}
		})
	}
	if _, _, err := s.CreateAPIToken(ada.ID, strings.Repeat("é", MaxAPITokenNameRunes), ScopeRead); err != nil {
		t.Errorf("a name of exactly %d characters: %v", MaxAPITokenNameRunes, err)
	}
	if got := len(eventsOf(t, db, EventAPITokenCreated)); db.Head() != head+1 || got != 1 {
		t.Errorf("refused tokens wrote events (head %d -> %d)", head, db.Head())
	}

	t.Run("ErrNoUser", func(t *testing.T) {
		_, _, err := s.CreateAPIToken(999, "CI", ScopeRead)
		wantCode(t, err, apperr.NotFound, "")
	})
	t.Run("ErrDeactivated", func(t *testing.T) {
		mustCreate(t, s, "admin@example.com", "Admin", true)
		if err := s.SetActive(ada.ID, false); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.CreateAPIToken(ada.ID, "CI", ScopeRead)
		wantCode(t, err, apperr.Unauthorized, "")
	})
}

func TestAPITokenLimit(t *testing.T) {
	s, _, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	var last *APIToken
	for range MaxAPITokens {
		_, last = mustAPIToken(t, s, ada.ID, "script", ScopeRead)
	}
	_, _, err := s.CreateAPIToken(ada.ID, "one too many", ScopeRead)
	wantCode(t, err, apperr.Conflict, "")
	// The limit is per person, and revoking makes room again.
	mustAPIToken(t, s, bob.ID, "script", ScopeRead)
	if err := s.RevokeAPIToken(ada.ID, last.ID); err != nil {
		t.Fatal(err)
	}
	mustAPIToken(t, s, ada.ID, "one more", ScopeRead)
}

func TestAPITokens(t *testing.T) {
	s, _, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	if list, err := s.APITokens(ada.ID); err != nil || len(list) != 0 {
		t.Fatalf("no tokens yet: %v, %v", list, err)
	}
	tokA, a := mustAPIToken(t, s, ada.ID, "first", ScopeRead)
	c.Advance(time.Minute)
	_, b := mustAPIToken(t, s, ada.ID, "second", ScopeWrite)
	mustAPIToken(t, s, bob.ID, "bob's", ScopeWrite)

	list, err := s.APITokens(ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0] != *b || list[1] != *a {
		t.Fatalf("list = %+v, want the second then the first", list)
	}

	// LastUsedAt: set on first use, then written at most once an hour.
	created := c.Now()
	wantAPIUser(t, s, tokA, ada.ID, ScopeRead)
	lastUsed := func() time.Time {
		t.Helper()
		list, err := s.APITokens(ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		return list[1].LastUsedAt
	}
	if got := lastUsed(); !got.Equal(created) {
		t.Fatalf("LastUsedAt after the first use = %v, want %v", got, created)
	}
	c.Advance(59 * time.Minute)
	wantAPIUser(t, s, tokA, ada.ID, ScopeRead)
	if got := lastUsed(); !got.Equal(created) {
		t.Errorf("LastUsedAt written again within the hour: %v", got)
	}
	c.Advance(2 * time.Minute)
	wantAPIUser(t, s, tokA, ada.ID, ScopeRead)
	if got := lastUsed(); !got.Equal(c.Now()) {
		t.Errorf("LastUsedAt after an hour = %v, want %v", got, c.Now())
	}

	if _, err := s.APITokens(999); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("APITokens of no user: %v", err)
	}
}

func TestRevokeAPIToken(t *testing.T) {
	s, db, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	bob := mustCreate(t, s, "bob@example.com", "Bob", false)
	tokA, a := mustAPIToken(t, s, ada.ID, "CI", ScopeWrite)
	tokA2, _ := mustAPIToken(t, s, ada.ID, "dashboard", ScopeRead)
	tokB, b := mustAPIToken(t, s, bob.ID, "CI", ScopeWrite)

	// Someone else's token, or no token: NotFound, nothing changes.
	head := db.Head()
	wantCode(t, s.RevokeAPIToken(ada.ID, b.ID), apperr.NotFound, "")
	wantCode(t, s.RevokeAPIToken(ada.ID, 999), apperr.NotFound, "")
	if db.Head() != head {
		t.Error("a refused revocation wrote an event")
	}
	wantAPIUser(t, s, tokB, bob.ID, ScopeWrite)

	if err := s.RevokeAPIToken(ada.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	wantBadAPIToken(t, s, tokA)
	wantAPIUser(t, s, tokA2, ada.ID, ScopeRead)
	wantAPIUser(t, s, tokB, bob.ID, ScopeWrite)
	if list, _ := s.APITokens(ada.ID); len(list) != 1 || list[0].Name != "dashboard" {
		t.Errorf("list after revoking = %+v", list)
	}
	recs, idx := apiTokenBuckets(t, db)
	if _, ok := recs[hashOf(tokA)]; ok || len(recs) != 2 || len(idx) != 2 {
		t.Errorf("revoking left %d records and %d index entries", len(recs), len(idx))
	}
	evs := eventsOf(t, db, EventAPITokenRevoked)
	if len(evs) != 1 || evs[0].ActorID != ada.ID || !strings.Contains(string(evs[0].Data), `"token_id":`) {
		t.Fatalf("revoked events = %+v", evs)
	}

	// Twice: NotFound, no second event.
	wantCode(t, s.RevokeAPIToken(ada.ID, a.ID), apperr.NotFound, "")
	if n := len(eventsOf(t, db, EventAPITokenRevoked)); n != 1 {
		t.Errorf("%d revoked events after revoking twice", n)
	}
}

func TestAPITokenDeactivated(t *testing.T) {
	s, _, _ := mustService(t)
	mustCreate(t, s, "admin@example.com", "Admin", true)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok, _ := mustAPIToken(t, s, ada.ID, "CI", ScopeWrite)
	if err := s.SetActive(ada.ID, false); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.UserByAPIToken(tok)
	wantCode(t, err, apperr.Unauthorized, "")
	if !strings.Contains(apperr.MessageOf(err), "deactivated") {
		t.Errorf("message %q does not say the account is deactivated", apperr.MessageOf(err))
	}
	if err := s.SetActive(ada.ID, true); err != nil {
		t.Fatal(err)
	}
	wantAPIUser(t, s, tok, ada.ID, ScopeWrite)

	// A password change does not revoke tokens.
	if err := s.SetPassword(ada.ID, "another password 123"); err != nil {
		t.Fatal(err)
	}
	wantAPIUser(t, s, tok, ada.ID, ScopeWrite)
}

func TestUserByAPITokenMalformed(t *testing.T) {
	s, _, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok, _ := mustAPIToken(t, s, ada.ID, "CI", ScopeRead)
	body := strings.TrimPrefix(tok, apiTokenPrefix)
	flip := func(b byte) string {
		if b == 'a' {
			return "b"
		}
		return "a"
	}
	for name, bad := range map[string]string{
		"Empty":        "",
		"PrefixOnly":   apiTokenPrefix,
		"NoPrefix":     body,
		"FeedPrefix":   "pbf_" + body,
		"Upper":        strings.ToUpper(tok),
		"Short":        tok[:len(tok)-1],
		"Long":         tok + "a",
		"Padded":       tok + "====",
		"Space":        " " + tok[1:],
		"NotBase32":    tok[:len(tok)-1] + "1",
		"OtherToken":   tok[:10] + flip(tok[10]) + tok[11:],
		"Session":      strings.Repeat("A", 43),
		"LineBreak":    tok[:20] + "\n" + tok[21:],
		"NeverCreated": apiTokenPrefix + strings.Repeat("a", len(body)),
	} {
		t.Run(name, func(t *testing.T) { wantBadAPIToken(t, s, bad) })
	}
	wantAPIUser(t, s, tok, ada.ID, ScopeRead)
}

// TestAPITokenLookupIsARead: a lookup that need not bring LastUsedAt up to
// date does not wait for the writer lock.
func TestAPITokenLookupIsARead(t *testing.T) {
	s, db, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok, _ := mustAPIToken(t, s, ada.ID, "CI", ScopeRead)
	wantAPIUser(t, s, tok, ada.ID, ScopeRead) // the first use writes
	c.Advance(30 * time.Minute)

	tx, err := db.Bolt().Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.UserByAPIToken(tok)
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
		t.Error("UserByAPIToken waited for the writer lock although LastUsedAt was fresh")
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		<-done
	}
}

func TestAPITokenReopen(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, db, c)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok, _ := mustAPIToken(t, s, ada.ID, "CI", ScopeWrite)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s = mustNew(t, db, c)
	wantAPIUser(t, s, tok, ada.ID, ScopeWrite)
	if list, err := s.APITokens(ada.ID); err != nil || len(list) != 1 || list[0].Name != "CI" {
		t.Errorf("tokens after reopen: %+v, %v", list, err)
	}
}

func TestConcurrentAPITokens(t *testing.T) {
	s, _, c := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", false)
	tok, _ := mustAPIToken(t, s, ada.ID, "CI", ScopeWrite)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				if i == 0 && j%3 == 0 {
					c.Advance(time.Hour) // make touches due while others look up
				}
				if _, _, err := s.UserByAPIToken(tok); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if _, _, err := s.CreateAPIToken(ada.ID, "script", ScopeRead); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	list, err := s.APITokens(ada.ID)
	if err != nil || len(list) != 1+4*10 {
		t.Fatalf("%d tokens, %v; want 41", len(list), err)
	}
	seen := map[uint64]bool{}
	for _, at := range list {
		if seen[at.ID] {
			t.Errorf("token ID %d twice", at.ID)
		}
		seen[at.ID] = true
	}
}
