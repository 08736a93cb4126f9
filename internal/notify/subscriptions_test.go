package notify_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// digestEnv is a real database in t.TempDir() with the real users, posts
// and notify services on one settable clock. (The names of this file's
// helpers are specific on purpose: other test files of the package define
// their own.)
type digestEnv struct {
	t     *testing.T
	db    *store.DB
	clock time.Time
	users *users.Service
	posts *posts.Service
	n     *notify.Service
}

func newDigestEnv(t *testing.T) *digestEnv {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &digestEnv{t: t, db: db, clock: time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)}
	now := func() time.Time { return e.clock }
	if e.users, err = users.New(db, users.Options{Now: now, BcryptCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	if e.posts, err = posts.New(db, posts.Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	if e.n, err = notify.New(db, e.posts, e.users, notify.Options{Now: now, BaseURL: "http://projblog.test"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// at sets the clock.
func (e *digestEnv) at(t time.Time) *digestEnv { e.clock = t; return e }

func (e *digestEnv) user(email, name, tz string) *users.User {
	e.t.Helper()
	u, err := e.users.Create(users.NewUser{Email: email, Name: name, Password: "correct horse battery", TimeZone: tz})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *digestEnv) project(owner *users.User, slug, name string, vis access.Visibility) *posts.Project {
	e.t.Helper()
	p, err := e.posts.CreateProject(owner.Actor(), posts.ProjectInput{Slug: slug, Name: name, Visibility: vis}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *digestEnv) member(owner *users.User, slug string, u *users.User, role access.Role) {
	e.t.Helper()
	if err := e.posts.SetMember(owner.Actor(), slug, u.ID, role); err != nil {
		e.t.Fatal(err)
	}
}

// post publishes a post at the clock's time.
func (e *digestEnv) post(author *users.User, slug string, in posts.PostInput) *posts.Post {
	e.t.Helper()
	if in.Body == "" {
		in.Body = "Body of " + in.Title
	}
	p, err := e.posts.CreatePost(author.Actor(), slug, in)
	if err != nil {
		e.t.Fatalf("post %q in %s: %v", in.Title, slug, err)
	}
	return p
}

func (e *digestEnv) follow(u *users.User, slug string, m notify.Mode) {
	e.t.Helper()
	if err := e.n.SetProjectMode(u.Actor(), slug, m); err != nil {
		e.t.Fatalf("follow %s %s: %v", slug, m, err)
	}
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

// countEvents counts the events of type typ in the log.
func countEvents(t *testing.T, db *store.DB, typ string) int {
	t.Helper()
	evs, err := db.Events(0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func TestProjectMode(t *testing.T) {
	e := newDigestEnv(t)
	olive := e.user("olive@example.com", "Olive Owner", "")
	mia := e.user("mia@example.com", "Mia Member", "")
	vic := e.user("vic@example.com", "Vic Viewer", "")
	nick := e.user("nick@example.com", "Nick Nonmember", "")
	apollo := e.project(olive, "apollo", "Apollo", access.Internal)
	secret := e.project(olive, "secret", "Secret", access.Private)
	public := e.project(olive, "public", "Public", access.Public)
	e.member(olive, "apollo", mia, access.Member)
	e.member(olive, "apollo", vic, access.Viewer)
	e.member(olive, "secret", mia, access.Member)

	t.Run("Defaults", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			user    *users.User
			project uint64
			want    notify.Mode
		}{
			{"Owner", olive, apollo.ID, notify.Weekly},
			{"Member", mia, apollo.ID, notify.Weekly},
			{"Viewer", vic, apollo.ID, notify.Weekly},
			{"PrivateMember", mia, secret.ID, notify.Weekly},
			{"NonMemberInternal", nick, apollo.ID, notify.Off},
			{"NonMemberPublic", nick, public.ID, notify.Off},
			{"NonMemberPrivate", nick, secret.ID, notify.Off},
		} {
			t.Run(c.name, func(t *testing.T) {
				m, err := e.n.ProjectMode(c.user.ID, c.project)
				if err != nil {
					t.Fatal(err)
				}
				if m != c.want {
					t.Fatalf("mode %q, want %q", m, c.want)
				}
			})
		}
	})

	t.Run("ExplicitOffWins", func(t *testing.T) {
		e.follow(mia, "apollo", notify.Off)
		if m, _ := e.n.ProjectMode(mia.ID, apollo.ID); m != notify.Off {
			t.Fatalf("mode %q after choosing off", m)
		}
		fs, err := e.n.Following(mia.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Project.Slug != "secret" || fs[0].Explicit || fs[0].Mode != notify.Weekly {
			t.Fatalf("Following after apollo off: %+v", fs)
		}
	})

	t.Run("ExplicitWeeklyOnReadableNonMemberProject", func(t *testing.T) {
		e.follow(nick, "apollo", notify.Weekly)
		e.follow(nick, "public", notify.Daily)
		if m, _ := e.n.ProjectMode(nick.ID, apollo.ID); m != notify.Weekly {
			t.Fatalf("mode %q after choosing weekly", m)
		}
		fs, err := e.n.Following(nick.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 2 || fs[0].Project.Slug != "apollo" || fs[1].Project.Slug != "public" ||
			!fs[0].Explicit || fs[1].Mode != notify.Daily || fs[0].Project.Role != access.NoRole {
			t.Fatalf("Following: %+v", fs)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		wantCode(t, e.n.SetProjectMode(nick.Actor(), "secret", notify.Weekly), apperr.NotFound)
		wantCode(t, e.n.SetProjectMode(nick.Actor(), "no-such-project", notify.Weekly), apperr.NotFound)
		if m, _ := e.n.ProjectMode(nick.ID, secret.ID); m != notify.Off {
			t.Fatalf("a refused choice was stored: %q", m)
		}
		_, err := e.n.ProjectMode(nick.ID, 9999)
		wantCode(t, err, apperr.NotFound)
	})

	t.Run("ErrInvalidMode", func(t *testing.T) {
		err := e.n.SetProjectMode(mia.Actor(), "apollo", "hourly")
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != "mode" {
			t.Fatalf("error %v, want invalid mode", err)
		}
	})

	t.Run("ErrAnonymous", func(t *testing.T) {
		wantCode(t, e.n.SetProjectMode(access.Anonymous, "public", notify.Weekly), apperr.Unauthorized)
	})

	t.Run("ExplicitChoiceOutlivesMembership", func(t *testing.T) {
		// Vic chooses daily for apollo, then leaves it: apollo is internal,
		// so Vic still reads it and still follows it.
		e.follow(vic, "apollo", notify.Daily)
		if err := e.posts.RemoveMember(olive.Actor(), "apollo", vic.ID); err != nil {
			t.Fatal(err)
		}
		if m, _ := e.n.ProjectMode(vic.ID, apollo.ID); m != notify.Daily {
			t.Fatalf("mode %q after leaving", m)
		}
		// Mia's default for secret goes with her membership; an explicit
		// choice stays stored but is not followed while she cannot read it.
		e.follow(mia, "secret", notify.Weekly)
		if err := e.posts.RemoveMember(olive.Actor(), "secret", mia.ID); err != nil {
			t.Fatal(err)
		}
		fs, err := e.n.Following(mia.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 0 {
			t.Fatalf("Following after losing access: %+v", fs)
		}
	})

	t.Run("EventsOnChangeOnly", func(t *testing.T) {
		before := countEvents(t, e.db, notify.EventFollowSet)
		e.follow(olive, "apollo", notify.Immediate)
		e.follow(olive, "apollo", notify.Immediate)
		if n := countEvents(t, e.db, notify.EventFollowSet) - before; n != 1 {
			t.Fatalf("%d follow events for one change", n)
		}
	})
}

func TestFollowingOrderAndAdmin(t *testing.T) {
	e := newDigestEnv(t)
	olive := e.user("olive@example.com", "Olive Owner", "")
	admin, err := e.users.Create(users.NewUser{Email: "ada@example.com", Name: "Ada Admin", Password: "correct horse battery", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ slug, name string }{{"zulu", "zulu"}, {"alpha", "Alpha"}, {"mike", "Mike"}} {
		e.project(olive, p.slug, p.name, access.Private)
	}
	fs, err := e.n.Following(olive.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Project.Slug)
	}
	if len(got) != 3 || got[0] != "alpha" || got[1] != "mike" || got[2] != "zulu" {
		t.Fatalf("order %v, want alpha mike zulu (by name, ignoring case)", got)
	}
	// An admin reads every project but follows none by default.
	if fs, err := e.n.Following(admin.ID); err != nil || len(fs) != 0 {
		t.Fatalf("admin follows %+v (%v)", fs, err)
	}
	_, err = e.n.Following(9999)
	wantCode(t, err, apperr.NotFound)
}

func TestSettings(t *testing.T) {
	e := newDigestEnv(t)
	u := e.user("olive@example.com", "Olive Owner", "Europe/Paris")

	t.Run("Default", func(t *testing.T) {
		st, err := e.n.Settings(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st != notify.DefaultSettings() || st.DigestHour != 8 || st.WeeklyDay != time.Monday {
			t.Fatalf("settings %+v, want Monday 08:00 defaults", st)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		want := notify.Settings{DigestHour: 0, WeeklyDay: time.Sunday, FullText: true, MentionsOnly: true}
		if err := e.n.SaveSettings(u.ID, want); err != nil {
			t.Fatal(err)
		}
		st, err := e.n.Settings(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st != want {
			t.Fatalf("settings %+v, want %+v", st, want)
		}
		before := countEvents(t, e.db, notify.EventSettingsSaved)
		if err := e.n.SaveSettings(u.ID, want); err != nil {
			t.Fatal(err)
		}
		if countEvents(t, e.db, notify.EventSettingsSaved) != before {
			t.Fatal("saving the same settings appended an event")
		}
	})

	t.Run("Validation", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			st    notify.Settings
			field string
		}{
			{"HourNegative", notify.Settings{DigestHour: -1, WeeklyDay: time.Monday}, "digest_hour"},
			{"Hour24", notify.Settings{DigestHour: 24, WeeklyDay: time.Monday}, "digest_hour"},
			{"DayNegative", notify.Settings{DigestHour: 8, WeeklyDay: -1}, "weekly_day"},
			{"Day7", notify.Settings{DigestHour: 8, WeeklyDay: 7}, "weekly_day"},
			{"QuietStartNegative", notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, QuietStart: -1, QuietEnd: 7}, "quiet_start"},
			{"QuietStart24", notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, QuietStart: 24, QuietEnd: 7}, "quiet_start"},
			{"QuietEndNegative", notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, QuietStart: 22, QuietEnd: -1}, "quiet_end"},
			{"QuietEnd24", notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, QuietStart: 22, QuietEnd: 24}, "quiet_end"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before, _ := e.n.Settings(u.ID)
				err := e.n.SaveSettings(u.ID, c.st)
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != c.field {
					t.Fatalf("error %v, want invalid %s", err, c.field)
				}
				if after, _ := e.n.Settings(u.ID); after != before {
					t.Fatalf("a refused form changed the settings: %+v", after)
				}
			})
		}
		wantCode(t, e.n.SaveSettings(0, notify.DefaultSettings()), apperr.Unauthorized)
	})

	t.Run("EmailOff", func(t *testing.T) {
		other := e.user("mia@example.com", "Mia", "")
		// Unsubscribing before ever saving keeps the defaults otherwise.
		if err := e.n.SetEmailOff(other.ID, true); err != nil {
			t.Fatal(err)
		}
		want := notify.DefaultSettings()
		want.EmailOff = true
		if st, _ := e.n.Settings(other.ID); st != want {
			t.Fatalf("settings %+v, want %+v", st, want)
		}
		before := countEvents(t, e.db, notify.EventEmailOff)
		if err := e.n.SetEmailOff(other.ID, true); err != nil {
			t.Fatal(err)
		}
		if countEvents(t, e.db, notify.EventEmailOff) != before {
			t.Fatal("unsubscribing twice appended an event")
		}
		// It keeps saved settings too.
		saved, _ := e.n.Settings(u.ID)
		if err := e.n.SetEmailOff(u.ID, true); err != nil {
			t.Fatal(err)
		}
		saved.EmailOff = true
		if st, _ := e.n.Settings(u.ID); st != saved {
			t.Fatalf("settings %+v, want %+v", st, saved)
		}
		if err := e.n.SetEmailOff(u.ID, false); err != nil {
			t.Fatal(err)
		}
		if st, _ := e.n.Settings(u.ID); st.EmailOff {
			t.Fatal("e-mail still off")
		}
		wantCode(t, e.n.SetEmailOff(0, true), apperr.Unauthorized)
	})
}
