package users

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

const testPassword = "correct horse battery"

// mustOpenDB opens a real bbolt file in a fresh temporary directory and
// closes it when the test ends.
func mustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mustNew returns a Service on db with the test clock and the cheapest
// bcrypt cost.
func mustNew(tb testing.TB, db *store.DB, c *clock) *Service {
	tb.Helper()
	s, err := New(db, Options{Now: c.Now, BcryptCost: bcrypt.MinCost})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func mustService(tb testing.TB) (*Service, *store.DB, *clock) {
	tb.Helper()
	db := mustOpenDB(tb)
	c := newClock()
	return mustNew(tb, db, c), db, c
}

func mustCreate(tb testing.TB, s *Service, email, name string, admin bool) *User {
	tb.Helper()
	u, err := s.Create(NewUser{Email: email, Name: name, Password: testPassword, Admin: admin})
	if err != nil {
		tb.Fatalf("Create(%q): %v", email, err)
	}
	return u
}

// wantCode fails unless err carries code (and field, when not "").
func wantCode(tb testing.TB, err error, code apperr.Code, field string) {
	tb.Helper()
	if apperr.CodeOf(err) != code {
		tb.Fatalf("error = %v (code %q), want code %q", err, apperr.CodeOf(err), code)
	}
	if field != "" {
		var e *apperr.Error
		if !errors.As(err, &e) || e.Field != field {
			tb.Fatalf("error = %#v, want Field %q", err, field)
		}
	}
}

// rawUser reads the stored record, hash included.
func rawUser(tb testing.TB, db *store.DB, id uint64) *User {
	tb.Helper()
	var u *User
	err := db.Bolt().View(func(tx *bbolt.Tx) error {
		var err error
		u, err = getUser(tx, id)
		return err
	})
	if err != nil || u == nil {
		tb.Fatalf("raw user %d: %v, %v", id, u, err)
	}
	return u
}

func TestCreate(t *testing.T) {
	s, db, c := mustService(t)
	u, err := s.Create(NewUser{Email: "  Ada.Lovelace@Example.COM ", Name: "  Ada Lovelace ", Password: testPassword,
		TimeZone: "Europe/Paris", Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	want := User{ID: 1, Email: "ada.lovelace@example.com", Name: "Ada Lovelace", Handle: "ada.lovelace", Active: true,
		TimeZone: "Europe/Paris", Language: "fr", CreatedAt: c.Now(), UpdatedAt: c.Now()}
	if u.ID != want.ID || u.Email != want.Email || u.Name != want.Name || u.Handle != want.Handle || u.Admin ||
		!u.Active || u.TimeZone != want.TimeZone || u.Language != want.Language ||
		!u.CreatedAt.Equal(want.CreatedAt) || !u.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("Create = %+v, want %+v", *u, want)
	}
	if u.PasswordHash != nil {
		t.Error("Create returned the password hash")
	}
	raw := rawUser(t, db, u.ID)
	if bcrypt.CompareHashAndPassword(raw.PasswordHash, []byte(testPassword)) != nil {
		t.Error("stored hash does not match the password")
	}
	got, err := s.ByID(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != nil || got.Email != want.Email {
		t.Errorf("ByID = %+v", got)
	}
}

func TestCreateInvalid(t *testing.T) {
	ok := NewUser{Email: "ok@example.com", Name: "Ok", Password: testPassword}
	with := func(f func(*NewUser)) NewUser { in := ok; f(&in); return in }
	tests := []struct {
		name  string
		in    NewUser
		field string
	}{
		{"EmailEmpty", with(func(u *NewUser) { u.Email = "  " }), "email"},
		{"EmailNoAt", with(func(u *NewUser) { u.Email = "ada.example.com" }), "email"},
		{"EmailNoDomain", with(func(u *NewUser) { u.Email = "ada@" }), "email"},
		{"EmailDisplayName", with(func(u *NewUser) { u.Email = "Ada <ada@example.com>" }), "email"},
		{"EmailTwoAddresses", with(func(u *NewUser) { u.Email = "a@example.com, b@example.com" }), "email"},
		{"EmailTooLong", with(func(u *NewUser) { u.Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" }), "email"},
		{"EmailInvalidUTF8", with(func(u *NewUser) { u.Email = "ad\xffa@example.com" }), "email"},
		{"NameEmpty", with(func(u *NewUser) { u.Name = " \t " }), "name"},
		{"NameTooLong", with(func(u *NewUser) { u.Name = strings.Repeat("é", 101) }), "name"},
		{"NameControl", with(func(u *NewUser) { u.Name = "Ada\x07" }), "name"},
		{"NameNewline", with(func(u *NewUser) { u.Name = "Ada\nLovelace" }), "name"},
		{"NameLineSeparator", with(func(u *NewUser) { u.Name = "Ada\u2028Lovelace" }), "name"},
		{"NameInvalidUTF8", with(func(u *NewUser) { u.Name = "Ada\xc3" }), "name"},
		{"PasswordEmpty", with(func(u *NewUser) { u.Password = "" }), "password"},
		{"PasswordTooShort", with(func(u *NewUser) { u.Password = "123456789" }), "password"},
		{"PasswordTooLong", with(func(u *NewUser) { u.Password = strings.Repeat("p", 73) }), "password"},
		{"PasswordTooLongMultibyte", with(func(u *NewUser) { u.Password = strings.Repeat("é", 37) }), "password"},
		{"PasswordInvalidUTF8", with(func(u *NewUser) { u.Password = "abcdefghij\xff" }), "password"},
		{"TimeZoneUnknown", with(func(u *NewUser) { u.TimeZone = "Mars/Olympus" }), "timezone"},
		{"TimeZoneLocal", with(func(u *NewUser) { u.TimeZone = "Local" }), "timezone"},
		{"TimeZonePath", with(func(u *NewUser) { u.TimeZone = "../../etc/passwd" }), "timezone"},
		{"TimeZoneInvalidUTF8", with(func(u *NewUser) { u.TimeZone = "Europe/\xff" }), "timezone"},
		{"LanguageUnknown", with(func(u *NewUser) { u.Language = "de" }), "language"},
		{"LanguageUpper", with(func(u *NewUser) { u.Language = "EN" }), "language"},
		{"LanguageInvalidUTF8", with(func(u *NewUser) { u.Language = "\xfe" }), "language"},
	}
	s, db, _ := mustService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(tt.in)
			wantCode(t, err, apperr.Invalid, tt.field)
			if msg := apperr.MessageOf(err); !strings.HasSuffix(msg, ".") || strings.Contains(msg, "\xff") {
				t.Errorf("message %q is not a sentence fit for a person", msg)
			}
		})
	}
	if n, _ := s.Count(); n != 0 {
		t.Errorf("Count after invalid input = %d, want 0", n)
	}
	if db.Head() != 0 {
		t.Errorf("invalid input appended events (head %d)", db.Head())
	}
	t.Run("PasswordMessageNamesBcryptLimit", func(t *testing.T) {
		_, err := s.Create(with(func(u *NewUser) { u.Password = strings.Repeat("p", 73) }))
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "72 bytes") || !strings.Contains(msg, "bcrypt") {
			t.Errorf("message %q does not explain bcrypt's 72-byte limit", msg)
		}
	})
}

func TestCreateLimitsOK(t *testing.T) {
	tests := []struct {
		name string
		in   NewUser
	}{
		{"Name100Runes", NewUser{Email: "a@example.com", Name: strings.Repeat("é", 100), Password: testPassword}},
		{"NameEmoji", NewUser{Email: "b@example.com", Name: "Zoë 👩\u200d💻", Password: testPassword}},
		{"Password10Bytes", NewUser{Email: "c@example.com", Name: "C", Password: "0123456789"}},
		{"Password72Bytes", NewUser{Email: "d@example.com", Name: "D", Password: strings.Repeat("é", 36)}},
		{"Email254Bytes", NewUser{Email: strings.Repeat("e", 64) + "@" + strings.Repeat("b", 185) + ".com", Name: "E", Password: testPassword}},
		{"EmailNoDot", NewUser{Email: "f@localhost", Name: "F", Password: testPassword}},
		{"TimeZoneUTC", NewUser{Email: "g@example.com", Name: "G", Password: testPassword, TimeZone: "UTC"}},
		{"LanguageEnglish", NewUser{Email: "h@example.com", Name: "H", Password: testPassword, Language: "en"}},
	}
	s, _, _ := mustService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.Create(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(tt.in.Email, tt.in.Password, "192.0.2.1"); err != nil {
				t.Errorf("Authenticate after Create: %v", err)
			}
			if _, err := s.ByHandle(u.Handle); err != nil {
				t.Errorf("ByHandle(%q): %v", u.Handle, err)
			}
		})
	}
}

func TestCreateDuplicateEmail(t *testing.T) {
	s, db, _ := mustService(t)
	mustCreate(t, s, "Bob@Example.com", "Bob", false)
	head := db.Head()
	for _, email := range []string{"bob@example.com", " BOB@EXAMPLE.COM ", "bOb@example.Com"} {
		t.Run(email, func(t *testing.T) {
			_, err := s.Create(NewUser{Email: email, Name: "Other Bob", Password: testPassword})
			wantCode(t, err, apperr.Conflict, "email")
		})
	}
	if n, _ := s.Count(); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
	if db.Head() != head {
		t.Errorf("a refused create appended an event")
	}
}

func TestBaseHandle(t *testing.T) {
	tests := []struct{ name, email, want string }{
		{"Plain", "bob@example.com", "bob"},
		{"Dots", "bob.smith@example.com", "bob.smith"},
		{"PlusTag", "bob+blog@example.com", "bob"},
		{"Underscore", "bob_smith@example.com", "bob_smith"},
		{"Apostrophe", "o'brien@example.com", "o-brien"},
		{"NonASCII", "zoë.müller@example.com", "zo-.m-ller"},
		{"RunsCollapse", "a!!#b@example.com", "a-b"},
		{"TrimPunctuation", ".-bob-.@example.com", "bob"},
		{"NothingLeft", "+++@example.com", "user"},
		{"OnlySymbols", "!#$@example.com", "user"},
		{"Truncated", strings.Repeat("x", 40) + "@example.com", strings.Repeat("x", 30)},
		{"TruncatedTrimmed", strings.Repeat("x", 29) + "-yyy@example.com", strings.Repeat("x", 29)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := baseHandle(tt.email); got != tt.want {
				t.Errorf("baseHandle(%q) = %q, want %q", tt.email, got, tt.want)
			}
			if !validHandle(baseHandle(tt.email)) {
				t.Errorf("baseHandle(%q) is not a valid handle", tt.email)
			}
		})
	}
}

func TestHandleUniqueness(t *testing.T) {
	s, _, _ := mustService(t)
	tests := []struct{ email, want string }{
		{"bob@a.example", "bob"},
		{"bob-2@a.example", "bob-2"},
		{"bob@b.example", "bob-3"},
		{"Bob+x@c.example", "bob-4"},
		{"bob.smith@a.example", "bob.smith"},
	}
	ids := map[string]uint64{}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			u := mustCreate(t, s, tt.email, "Bob", false)
			if u.Handle != tt.want {
				t.Errorf("handle = %q, want %q", u.Handle, tt.want)
			}
			ids[tt.want] = u.ID
		})
	}
	for h, id := range ids {
		t.Run("ByHandle/"+h, func(t *testing.T) {
			u, err := s.ByHandle(strings.ToUpper(h))
			if err != nil || u.ID != id {
				t.Fatalf("ByHandle(%q) = %v, %v; want ID %d", h, u, err, id)
			}
		})
	}
	for _, h := range []string{"", "nobody", "../bob", "bob/2", "b\xffb"} {
		t.Run("NotFound/"+h, func(t *testing.T) {
			_, err := s.ByHandle(h)
			wantCode(t, err, apperr.NotFound, "")
		})
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, db, c)
	a := mustCreate(t, s, "ada@example.com", "Ada", true)
	b := mustCreate(t, s, "bob@example.com", "Bob", false)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s = mustNew(t, db, c)
	if n, err := s.Count(); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	got, err := s.ByEmail("ADA@example.com")
	if err != nil || got.ID != a.ID || !got.Admin || got.Handle != "ada" {
		t.Errorf("ByEmail after reopen = %+v, %v", got, err)
	}
	got, err = s.ByHandle("bob")
	if err != nil || got.ID != b.ID {
		t.Errorf("ByHandle after reopen = %+v, %v", got, err)
	}
	if _, err := s.Authenticate("bob@example.com", testPassword, "192.0.2.1"); err != nil {
		t.Errorf("Authenticate after reopen: %v", err)
	}
	c2 := mustCreate(t, s, "cy@example.com", "Cy", false)
	if c2.ID != 3 {
		t.Errorf("next ID after reopen = %d, want 3", c2.ID)
	}
}

func TestLookups(t *testing.T) {
	s, _, _ := mustService(t)
	zed := mustCreate(t, s, "zed@example.com", "zed", false)
	ann2 := mustCreate(t, s, "ann2@example.com", "Ann", false)
	ann1 := mustCreate(t, s, "ann1@example.com", "Ann", false)
	bea := mustCreate(t, s, "bea@example.com", "Béa", false)

	t.Run("List", func(t *testing.T) {
		list, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, u := range list {
			got = append(got, u.ID)
			if u.PasswordHash != nil {
				t.Errorf("List returned the hash of %d", u.ID)
			}
		}
		want := []uint64{ann1.ID, ann2.ID, bea.ID, zed.ID}
		if len(got) != len(want) {
			t.Fatalf("List IDs = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("List IDs = %v, want %v", got, want)
			}
		}
	})
	t.Run("ByIDs", func(t *testing.T) {
		m, err := s.ByIDs([]uint64{zed.ID, 999, bea.ID, zed.ID, 0})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 2 || m[zed.ID].Email != "zed@example.com" || m[bea.ID].Name != "Béa" || m[zed.ID].PasswordHash != nil {
			t.Errorf("ByIDs = %v", m)
		}
	})
	t.Run("ByIDsEmpty", func(t *testing.T) {
		m, err := s.ByIDs(nil)
		if err != nil || len(m) != 0 {
			t.Errorf("ByIDs(nil) = %v, %v", m, err)
		}
	})
	t.Run("ByIDNotFound", func(t *testing.T) {
		_, err := s.ByID(999)
		wantCode(t, err, apperr.NotFound, "")
	})
	t.Run("ByEmailNotFound", func(t *testing.T) {
		for _, e := range []string{"", "nobody@example.com", "\xff"} {
			_, err := s.ByEmail(e)
			wantCode(t, err, apperr.NotFound, "")
		}
	})
}

func TestUpdateProfile(t *testing.T) {
	s, db, c := mustService(t)
	u := mustCreate(t, s, "ada@example.com", "Ada", false)

	t.Run("OK", func(t *testing.T) {
		c.Advance(time.Hour)
		head := db.Head()
		got, err := s.UpdateProfile(u.ID, Profile{Name: " Ada King ", TimeZone: "America/New_York", Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Ada King" || got.TimeZone != "America/New_York" || got.Language != "en" ||
			!got.UpdatedAt.Equal(c.Now()) || !got.CreatedAt.Equal(u.CreatedAt) || got.Email != u.Email || got.Handle != u.Handle {
			t.Errorf("UpdateProfile = %+v", got)
		}
		if got.PasswordHash != nil {
			t.Error("UpdateProfile returned the hash")
		}
		evs, _ := db.Events(head, 10)
		if len(evs) != 1 || evs[0].Type != EventUpdated || evs[0].ActorID != u.ID {
			t.Errorf("events = %+v, want one %s", evs, EventUpdated)
		}
		if _, err := s.Authenticate("ada@example.com", testPassword, ""); err != nil {
			t.Errorf("profile update lost the password: %v", err)
		}
	})
	t.Run("NoChange", func(t *testing.T) {
		head := db.Head()
		if _, err := s.UpdateProfile(u.ID, Profile{Name: "Ada King", TimeZone: "America/New_York", Language: "en"}); err != nil {
			t.Fatal(err)
		}
		if db.Head() != head {
			t.Error("an unchanged profile appended an event")
		}
	})
	for _, tt := range []struct {
		name  string
		p     Profile
		field string
	}{
		{"NameEmpty", Profile{Name: ""}, "name"},
		{"TimeZoneUnknown", Profile{Name: "A", TimeZone: "Nowhere/Land"}, "timezone"},
		{"LanguageUnknown", Profile{Name: "A", Language: "es"}, "language"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateProfile(u.ID, tt.p)
			wantCode(t, err, apperr.Invalid, tt.field)
		})
	}
	t.Run("NotFound", func(t *testing.T) {
		_, err := s.UpdateProfile(999, Profile{Name: "X"})
		wantCode(t, err, apperr.NotFound, "")
	})
}

func TestLastAdmin(t *testing.T) {
	s, _, _ := mustService(t)
	a := mustCreate(t, s, "a@example.com", "A", true)
	b := mustCreate(t, s, "b@example.com", "B", false)

	steps := []struct {
		name string
		do   func() error
		want apperr.Code
	}{
		{"RemoveOnlyAdmin", func() error { return s.SetAdmin(a.ID, false) }, apperr.Conflict},
		{"DeactivateOnlyAdmin", func() error { return s.SetActive(a.ID, false) }, apperr.Conflict},
		{"DeactivateNonAdmin", func() error { return s.SetActive(b.ID, false) }, ""},
		{"PromoteInactive", func() error { return s.SetAdmin(b.ID, true) }, ""},
		{"InactiveAdminDoesNotCount", func() error { return s.SetAdmin(a.ID, false) }, apperr.Conflict},
		{"ReactivateB", func() error { return s.SetActive(b.ID, true) }, ""},
		{"RemoveWhenAnotherExists", func() error { return s.SetAdmin(a.ID, false) }, ""},
		{"DeactivateNowOnlyAdmin", func() error { return s.SetActive(b.ID, false) }, apperr.Conflict},
		{"RemoveNowOnlyAdmin", func() error { return s.SetAdmin(b.ID, false) }, apperr.Conflict},
		{"SameValueIsNoop", func() error { return s.SetAdmin(b.ID, true) }, ""},
		{"DemoteNonAdminIsNoop", func() error { return s.SetAdmin(a.ID, false) }, ""},
		{"SetAdminNotFound", func() error { return s.SetAdmin(999, true) }, apperr.NotFound},
		{"SetActiveNotFound", func() error { return s.SetActive(999, false) }, apperr.NotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if got := apperr.CodeOf(st.do()); got != st.want {
				t.Fatalf("code = %q, want %q", got, st.want)
			}
		})
	}
	gotA, _ := s.ByID(a.ID)
	gotB, _ := s.ByID(b.ID)
	if gotA.Admin || !gotA.Active || !gotB.Admin || !gotB.Active {
		t.Errorf("final state a=%+v b=%+v", gotA, gotB)
	}
}

func TestEnsureFirstAdmin(t *testing.T) {
	s, db, _ := mustService(t)

	t.Run("Invalid", func(t *testing.T) {
		_, _, _, err := s.EnsureFirstAdmin("not an email", "Admin")
		wantCode(t, err, apperr.Invalid, "email")
	})
	var first *User
	t.Run("Creates", func(t *testing.T) {
		u, pw, created, err := s.EnsureFirstAdmin("Admin@Example.com", "Admin")
		if err != nil || !created || u == nil {
			t.Fatalf("EnsureFirstAdmin = %v, %q, %v, %v", u, pw, created, err)
		}
		if len(pw) != 20 {
			t.Errorf("password %q has %d characters, want 20", pw, len(pw))
		}
		if !u.Admin || !u.Active || u.Email != "admin@example.com" || u.PasswordHash != nil {
			t.Errorf("admin = %+v", u)
		}
		got, err := s.Authenticate("admin@example.com", pw, "192.0.2.1")
		if err != nil || got.ID != u.ID {
			t.Errorf("Authenticate with the printed password = %v, %v", got, err)
		}
		first = u
	})
	t.Run("Idempotent", func(t *testing.T) {
		head := db.Head()
		for range 2 {
			u, pw, created, err := s.EnsureFirstAdmin("other@example.com", "Other")
			if err != nil || created || u != nil || pw != "" {
				t.Fatalf("second EnsureFirstAdmin = %v, %q, %v, %v", u, pw, created, err)
			}
		}
		if n, _ := s.Count(); n != 1 {
			t.Errorf("Count = %d, want 1", n)
		}
		if db.Head() != head {
			t.Error("a no-op EnsureFirstAdmin appended an event")
		}
		if _, err := s.ByID(first.ID); err != nil {
			t.Error(err)
		}
	})
	t.Run("NotWhenOtherUsersExist", func(t *testing.T) {
		s2, _, _ := mustService(t)
		mustCreate(t, s2, "someone@example.com", "Someone", false)
		_, _, created, err := s2.EnsureFirstAdmin("admin@example.com", "Admin")
		if err != nil || created {
			t.Errorf("EnsureFirstAdmin with a user = %v, %v", created, err)
		}
	})
}

func TestEvents(t *testing.T) {
	s, db, c := mustService(t)
	a := mustCreate(t, s, "ada@example.com", "Ada", true)
	b := mustCreate(t, s, "bob@example.com", "Bob", false)
	if err := s.SetAdmin(b.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetActive(b.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetActive(b.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(a.ID, "another password"); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ    string
		id     uint64
		handle string
		admin  bool
		active bool
	}{
		{EventCreated, a.ID, "ada", true, true},
		{EventCreated, b.ID, "bob", false, true},
		{EventUpdated, b.ID, "bob", true, true},
		{EventDeactivated, b.ID, "bob", true, false},
		{EventReactivated, b.ID, "bob", true, true},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		ev := evs[i]
		var d EventData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatalf("event %d data: %v", i, err)
		}
		if ev.Type != w.typ || ev.ActorID != w.id || d.UserID != w.id || d.Handle != w.handle ||
			d.Admin != w.admin || d.Active != w.active || !ev.Time.Equal(c.Now()) {
			t.Errorf("event %d = %+v %+v, want %+v", i, ev, d, w)
		}
		if strings.Contains(string(ev.Data), "Password") || strings.Contains(string(ev.Data), "$2a$") {
			t.Errorf("event %d carries the password hash: %s", i, ev.Data)
		}
	}
}

func TestUserHelpers(t *testing.T) {
	tests := []struct {
		name, tz, wantLoc string
	}{
		{"Empty", "", "UTC"},
		{"Paris", "Europe/Paris", "Europe/Paris"},
		{"BadStoredValue", "Nowhere/Land", "UTC"},
	}
	for _, tt := range tests {
		t.Run("Location/"+tt.name, func(t *testing.T) {
			u := &User{TimeZone: tt.tz}
			if got := u.Location().String(); got != tt.wantLoc {
				t.Errorf("Location = %q, want %q", got, tt.wantLoc)
			}
			if got := u.Location().String(); got != tt.wantLoc { // cached
				t.Errorf("cached Location = %q, want %q", got, tt.wantLoc)
			}
		})
	}
	t.Run("Actor", func(t *testing.T) {
		u := &User{ID: 7, Admin: true}
		if got := u.Actor(); got != (access.Actor{UserID: 7, Admin: true}) {
			t.Errorf("Actor = %+v", got)
		}
		var none *User
		if got := none.Actor(); got.LoggedIn() {
			t.Errorf("nil user Actor = %+v", got)
		}
	})
}

func TestNewOptions(t *testing.T) {
	db := mustOpenDB(t)
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"CostTooLow", Options{BcryptCost: 1}},
		{"CostTooHigh", Options{BcryptCost: 40}},
		{"NegativeTTL", Options{BcryptCost: bcrypt.MinCost, SessionTTL: -time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(db, tt.opts)
			wantCode(t, err, apperr.Invalid, "")
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		s, err := New(db, Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		if s.ttl != DefaultSessionTTL || s.renewEvery != time.Hour || s.now == nil {
			t.Errorf("defaults: ttl %v renew %v", s.ttl, s.renewEvery)
		}
	})
}

func TestResolveHandles(t *testing.T) {
	db := mustOpenDB(t)
	s, err := New(db, Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ada, _ := s.Create(NewUser{Email: "ada@example.com", Name: "Ada", Password: "correct horse battery", Admin: true})
	bob, _ := s.Create(NewUser{Email: "bob@example.com", Name: "Bob", Password: "correct horse battery"})
	gone, _ := s.Create(NewUser{Email: "gone@example.com", Name: "Gone", Password: "correct horse battery"})
	if err := s.SetActive(gone.ID, false); err != nil {
		t.Fatal(err)
	}
	got := s.ResolveHandles([]string{"ada", "bob", "gone", "nobody"})
	if len(got) != 2 || got["ada"].UserID != ada.ID || !got["ada"].Admin || got["bob"].UserID != bob.ID || got["bob"].Admin {
		t.Fatalf("ResolveHandles = %+v", got)
	}
}
