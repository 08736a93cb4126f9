package notify_test

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// BenchmarkWeeklyDigests measures building weekly digests for the issue's
// scale: 10,000 people, each a member (so a weekly follower) of 12 of 200
// projects, 5,000 posts published in the week. One op is one person's
// digest; the "s/10k" metric is the whole run for 10,000 people. The
// setup (about half a minute) writes without fsync.
func BenchmarkWeeklyDigests(b *testing.B) {
	const (
		people, projects, perPerson, postsInWeek = 10000, 200, 12, 5000
	)
	db, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // a Monday
	now := start
	clock := func() time.Time { return now }
	us, err := users.New(db, users.Options{Now: clock, BcryptCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	ns, err := notify.New(db, ps, us, notify.Options{Now: clock, BaseURL: "https://blog.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	owner, err := us.Create(users.NewUser{Email: "owner@example.com", Name: "Owner", Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	slugs := make([]string, projects)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("project-%03d", i)
		if _, err := ps.CreateProject(owner.Actor(), posts.ProjectInput{Slug: slugs[i], Name: fmt.Sprintf("Project %d", i), Visibility: access.Private}, owner.ID); err != nil {
			b.Fatal(err)
		}
	}
	ids := make([]uint64, people)
	for i := range ids {
		u, err := us.Create(users.NewUser{Email: fmt.Sprintf("p%05d@example.com", i), Name: fmt.Sprintf("Person %d", i), Password: "correct horse battery"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
		for j := 0; j < perPerson; j++ {
			if err := ps.SetMember(owner.Actor(), slugs[(i*7+j*17)%projects], u.ID, access.Viewer); err != nil {
				b.Fatal(err)
			}
		}
	}
	body := "An update with **some** text, a [link](https://example.com) and a list:\n\n- one\n- two\n"
	for i := 0; i < postsInWeek; i++ {
		now = start.Add(time.Duration(i) * (7 * 24 * time.Hour / postsInWeek))
		in := posts.PostInput{Title: fmt.Sprintf("Update %d", i), Body: body}
		if i%25 == 0 {
			in.Health = []posts.Health{posts.OnTrack, posts.AtRisk, posts.OffTrack}[i%3]
		}
		if _, err := ps.CreatePost(owner.Actor(), slugs[i%projects], in); err != nil {
			b.Fatal(err)
		}
	}
	now = start.Add(7*24*time.Hour + time.Minute)
	w := notify.WeeklyWindow(now, time.UTC, time.Monday, 8)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		d, err := ns.BuildDigest(ids[i%people], w)
		if err != nil {
			b.Fatal(err)
		}
		if d.Empty() {
			b.Fatal("empty digest: the setup is wrong")
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)*people/1e9, "s/10k")
}
