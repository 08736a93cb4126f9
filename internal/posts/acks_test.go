package posts

import (
	"slices"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// ackUsers returns the user IDs of acks, in order, and how many are open.
func ackUsers(acks []Ack) (ids []uint64, open int) {
	for _, a := range acks {
		ids = append(ids, a.UserID)
		if a.AckedAt.IsZero() {
			open++
		}
	}
	return ids, open
}

func mustAcks(tb testing.TB, f *fixture, actor access.Actor, postID uint64) []Ack {
	tb.Helper()
	acks, err := f.s.Acks(actor, postID)
	if err != nil {
		tb.Fatal(err)
	}
	return acks
}

func ackedUserIDs(tb testing.TB, f *fixture, after uint64, typ string) []uint64 {
	tb.Helper()
	var out []uint64
	for _, e := range eventsTyped(tb, f.db, after, typ) {
		out = append(out, uint64(eventData(tb, e)["user_id"].(float64)))
	}
	return out
}

func TestRequestAcksPermissions(t *testing.T) {
	tests := []struct {
		name  string
		actor access.Actor
		vis   access.Visibility
		code  apperr.Code // "" = allowed
	}{
		{"Author", member, access.Private, ""},
		{"Owner", owner, access.Private, ""},
		{"Admin", admin, access.Private, ""},
		{"ErrOtherMember", member2, access.Private, apperr.Forbidden},
		{"ErrViewer", viewer, access.Private, apperr.Forbidden},
		{"ErrOutsiderPrivate", outsider, access.Private, apperr.NotFound},
		{"ErrOutsiderInternal", outsider, access.Internal, apperr.Forbidden},
		{"ErrAnonymousPublic", anon, access.Public, apperr.Unauthorized},
		{"ErrAnonymousPrivate", anon, access.Private, apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.project("alpha", tt.vis)
			p := f.post(member, "alpha", titled("Please read"))
			head := f.db.Head()
			err := f.s.RequestAcks(tt.actor, p.ID, []uint64{viewer.UserID}, false)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				if n := len(mustAcks(t, f, owner, p.ID)); n != 0 {
					t.Fatalf("refused request stored %d acks", n)
				}
				return
			}
			must(t, err)
			acks := mustAcks(t, f, viewer, p.ID)
			if len(acks) != 1 || acks[0].UserID != viewer.UserID || acks[0].RequestedBy != tt.actor.UserID ||
				!acks[0].RequestedAt.Equal(f.clk.Now()) || !acks[0].AckedAt.IsZero() {
				t.Fatalf("acks = %+v", acks)
			}
			if got := ackedUserIDs(t, f, head, "ack.requested"); !slices.Equal(got, []uint64{viewer.UserID}) {
				t.Fatalf("ack.requested for %v", got)
			}
		})
	}
}

func TestRequestAcksRules(t *testing.T) {
	t.Run("ErrUnreadableUser", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Private)
		p := f.post(member, "alpha", titled("Secret"))
		head := f.db.Head()
		err := f.s.RequestAcks(member, p.ID, []uint64{viewer.UserID, outsider.UserID, 99}, false)
		wantField(t, err, apperr.Invalid, "ack")
		if !strings.Contains(apperr.MessageOf(err), "2 of the 3") {
			t.Fatalf("message %q does not say how many", apperr.MessageOf(err))
		}
		if n := len(mustAcks(t, f, owner, p.ID)); n != 0 {
			t.Fatalf("%d acks stored; nobody should be asked", n)
		}
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("events = %v", got)
		}
		err = f.s.RequestAcks(member, p.ID, []uint64{outsider.UserID}, false)
		wantField(t, err, apperr.Invalid, "ack")
		if !strings.Contains(apperr.MessageOf(err), "The person you named") {
			t.Fatalf("message %q", apperr.MessageOf(err))
		}
	})
	t.Run("NonMemberOfInternalProject", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		p := f.post(member, "alpha", titled("Open"))
		must(t, f.s.RequestAcks(member, p.ID, []uint64{outsider.UserID}, false))
		must(t, f.s.Acknowledge(outsider, p.ID))
	})
	t.Run("ErrNobody", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		p := f.post(member, "alpha", titled("Open"))
		wantField(t, f.s.RequestAcks(member, p.ID, nil, false), apperr.Invalid, "ack")
	})
	t.Run("ErrDraft", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		p := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
		wantCode(t, f.s.RequestAcks(member, p.ID, []uint64{viewer.UserID}, false), apperr.Conflict)
	})
	t.Run("ErrTrashed", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		p := f.post(member, "alpha", titled("Gone"))
		must(t, f.s.DeletePost(member, p.ID))
		wantCode(t, f.s.RequestAcks(owner, p.ID, []uint64{viewer.UserID}, false), apperr.Conflict)
	})
	t.Run("AllMembersIdempotent", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Private)
		p := f.post(member, "alpha", titled("Everyone"))
		head := f.db.Head()
		// Naming the author and someone twice changes nothing.
		must(t, f.s.RequestAcks(member, p.ID, []uint64{member.UserID, viewer.UserID, viewer.UserID}, false))
		f.clk.Advance(time.Minute)
		must(t, f.s.RequestAcks(member, p.ID, nil, true))
		want := []uint64{viewer.UserID, owner.UserID, member2.UserID}
		if got := ackedUserIDs(t, f, head, "ack.requested"); !slices.Equal(got, want) {
			t.Fatalf("ack.requested for %v, want %v (every member but the author, once)", got, want)
		}
		ids, open := ackUsers(mustAcks(t, f, member, p.ID))
		if !slices.Equal(ids, want) || open != 3 {
			t.Fatalf("acks %v (%d open), want %v all open (by request time)", ids, open, want)
		}
		f.clk.Advance(time.Minute)
		must(t, f.s.Acknowledge(viewer, p.ID))
		head = f.db.Head()
		f.clk.Advance(time.Minute)
		must(t, f.s.RequestAcks(owner, p.ID, []uint64{viewer.UserID}, true))
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("asking again appended %v", got)
		}
		acks := mustAcks(t, f, member, p.ID)
		if acks[2].UserID != viewer.UserID || acks[2].AckedAt.IsZero() || acks[2].RequestedBy != member.UserID {
			t.Fatalf("asking again changed a given ack: %+v", acks)
		}
	})
}

func TestAcknowledge(t *testing.T) {
	setup := func(t *testing.T, vis access.Visibility) (*fixture, *Post) {
		f := newFixture(t)
		f.project("alpha", vis)
		p := f.post(member, "alpha", titled("Please read"))
		must(t, f.s.RequestAcks(member, p.ID, []uint64{viewer.UserID, owner.UserID}, false))
		return f, p
	}
	t.Run("OK", func(t *testing.T) {
		f, p := setup(t, access.Private)
		f.clk.Advance(time.Hour)
		head := f.db.Head()
		must(t, f.s.Acknowledge(viewer, p.ID))
		acks := mustAcks(t, f, viewer, p.ID)
		if len(acks) != 2 || acks[0].UserID != owner.UserID || !acks[0].AckedAt.IsZero() ||
			acks[1].UserID != viewer.UserID || !acks[1].AckedAt.Equal(f.clk.Now()) {
			t.Fatalf("acks = %+v, want the owner open first, then the viewer given now", acks)
		}
		evs := eventsTyped(t, f.db, head, "ack.given")
		if len(evs) != 1 || evs[0].ActorID != viewer.UserID || evs[0].PostID != p.ID ||
			eventData(t, evs[0])["requested_by"].(float64) != float64(member.UserID) {
			t.Fatalf("ack.given = %+v", evs)
		}
		// Again: nothing changes.
		f.clk.Advance(time.Hour)
		head = f.db.Head()
		must(t, f.s.Acknowledge(viewer, p.ID))
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("second acknowledgement appended %v", got)
		}
		if again := mustAcks(t, f, viewer, p.ID); !again[1].AckedAt.Equal(acks[1].AckedAt) {
			t.Fatalf("second acknowledgement moved AckedAt")
		}
	})
	t.Run("OrderOfGiven", func(t *testing.T) {
		f, p := setup(t, access.Private)
		f.clk.Advance(time.Minute)
		must(t, f.s.Acknowledge(owner, p.ID))
		f.clk.Advance(time.Minute)
		must(t, f.s.Acknowledge(viewer, p.ID))
		ids, open := ackUsers(mustAcks(t, f, member, p.ID))
		if !slices.Equal(ids, []uint64{owner.UserID, viewer.UserID}) || open != 0 {
			t.Fatalf("acks %v open %d", ids, open)
		}
	})
	errs := []struct {
		name  string
		vis   access.Visibility
		actor access.Actor
		code  apperr.Code
	}{
		{"ErrNotAsked", access.Private, member2, apperr.Conflict},
		{"ErrAuthorNotAsked", access.Private, member, apperr.Conflict},
		{"ErrOutsiderPrivate", access.Private, outsider, apperr.NotFound},
		{"ErrAnonymousPublic", access.Public, anon, apperr.Unauthorized},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			f, p := setup(t, tt.vis)
			err := f.s.Acknowledge(tt.actor, p.ID)
			wantCode(t, err, tt.code)
			if tt.code == apperr.Conflict && apperr.MessageOf(err) != "Nobody asked you to acknowledge this post." {
				t.Fatalf("message = %q", apperr.MessageOf(err))
			}
		})
	}
	t.Run("ErrArchived", func(t *testing.T) {
		f, p := setup(t, access.Private)
		must(t, f.s.SetArchived(owner, "alpha", true))
		wantCode(t, f.s.Acknowledge(viewer, p.ID), apperr.Forbidden)
	})
	t.Run("ErrAcksOutsider", func(t *testing.T) {
		f, p := setup(t, access.Private)
		_, err := f.s.Acks(outsider, p.ID)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestWaitingFor(t *testing.T) {
	f := newFixture(t)
	f.project("open", access.Internal)
	f.project("secret", access.Private)
	f.project("other", access.Private)

	a := f.post(member, "open", titled("Open post"))
	b := f.post(member, "secret", titled("Secret post"))
	c := f.post(owner, "open", titled("Second open post"))
	d := f.post(owner, "other", titled("Other post"))
	for _, p := range []*Post{a, b, c, d} {
		f.clk.Advance(time.Minute)
		must(t, f.s.RequestAcks(owner, p.ID, []uint64{viewer.UserID}, false))
	}
	waiting := func(actor access.Actor, uid uint64) []string {
		t.Helper()
		ps, err := f.s.WaitingFor(actor, uid)
		must(t, err)
		return titles(ps)
	}
	want := []string{"Other post", "Second open post", "Secret post", "Open post"}
	if got := waiting(viewer, viewer.UserID); !slices.Equal(got, want) {
		t.Fatalf("WaitingFor = %v, want %v (newest request first)", got, want)
	}

	tests := []struct {
		name string
		act  func()
		want []string
	}{
		{"Acknowledged", func() { must(t, f.s.Acknowledge(viewer, c.ID)) },
			[]string{"Other post", "Secret post", "Open post"}},
		{"LostAccess", func() { must(t, f.s.RemoveMember(owner, "other", viewer.UserID)) },
			[]string{"Secret post", "Open post"}},
		{"Deleted", func() { must(t, f.s.DeletePost(owner, b.ID)) },
			[]string{"Open post"}},
		{"Restored", func() { must(t, f.s.RestorePost(owner, b.ID)) },
			[]string{"Secret post", "Open post"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.act()
			if got := waiting(viewer, viewer.UserID); !slices.Equal(got, tt.want) {
				t.Fatalf("WaitingFor = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("HidesUnreadableProjects", func(t *testing.T) {
		if got := waiting(outsider, viewer.UserID); !slices.Equal(got, []string{"Open post"}) {
			t.Fatalf("outsider sees %v", got)
		}
		if got := waiting(anon, viewer.UserID); len(got) != 0 {
			t.Fatalf("anonymous sees %v", got)
		}
	})
	t.Run("Nobody", func(t *testing.T) {
		if got := waiting(member2, member2.UserID); len(got) != 0 {
			t.Fatalf("member2 waits for %v", got)
		}
	})
}

func TestAcksThroughPostInput(t *testing.T) {
	t.Run("OnCreate", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Private)
		head := f.db.Head()
		p := f.post(member, "alpha", PostInput{Title: "Read me", AckUserIDs: []uint64{viewer.UserID, owner.UserID}})
		ids, open := ackUsers(mustAcks(t, f, member, p.ID))
		if !slices.Equal(ids, []uint64{owner.UserID, viewer.UserID}) || open != 2 {
			t.Fatalf("acks %v open %d", ids, open)
		}
		got := eventTypes(t, f.db, head)
		if !slices.Equal(got, []string{"post.published", "ack.requested", "ack.requested"}) {
			t.Fatalf("events = %v", got)
		}
	})
	t.Run("DraftThenPublish", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Private)
		p := f.post(member, "alpha", PostInput{Title: "Read me", Draft: true, AckAll: true})
		if n := len(mustAcks(t, f, member, p.ID)); n != 0 {
			t.Fatalf("a draft asked %d people", n)
		}
		in := inputOf(p)
		in.Draft, in.AckAll = false, true
		f.update(member, p.ID, in)
		ids, _ := ackUsers(mustAcks(t, f, member, p.ID))
		if !slices.Equal(ids, []uint64{owner.UserID, member2.UserID, viewer.UserID}) {
			t.Fatalf("acks %v", ids)
		}
		// Asking again through an edit leaves them as they are.
		head := f.db.Head()
		in.AckAll, in.AckUserIDs = true, []uint64{viewer.UserID}
		f.update(member, p.ID, in)
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("events = %v", got)
		}
	})
	t.Run("StatusUpdateWithAcks", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		p := f.post(owner, "alpha", PostInput{Title: "Week 1", Health: OffTrack, AckUserIDs: []uint64{outsider.UserID}})
		if ids, _ := ackUsers(mustAcks(t, f, outsider, p.ID)); !slices.Equal(ids, []uint64{outsider.UserID}) {
			t.Fatalf("acks %v", ids)
		}
		wantHealth(t, f, "alpha", OffTrack, p.ID)
	})
	t.Run("ErrUnreadableRollsBack", func(t *testing.T) {
		f := newFixture(t)
		f.project("alpha", access.Private)
		head := f.db.Head()
		_, err := f.s.CreatePost(member, "alpha", PostInput{Title: "Read me", Body: "x", Health: OnTrack, AckUserIDs: []uint64{outsider.UserID}})
		wantField(t, err, apperr.Invalid, "ack")
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("events = %v; the refused post must leave nothing", got)
		}
		wantHealth(t, f, "alpha", HealthNone, 0)
	})
}

func TestSeenBy(t *testing.T) {
	setup := func(t *testing.T, on bool) (*fixture, *Post) {
		f := newFixture(t)
		f.project("alpha", access.Internal)
		if on {
			pv, err := f.s.Project(owner, "alpha")
			must(t, err)
			_, err = f.s.UpdateProject(owner, "alpha", ProjectInput{Name: pv.Name, Description: pv.Description, SeenBy: true})
			must(t, err)
		}
		return f, f.post(member, "alpha", titled("Seen?"))
	}
	seen := func(t *testing.T, f *fixture, p *Post) []Seen {
		t.Helper()
		s, err := f.s.SeenBy(member, p.ID)
		must(t, err)
		return s
	}
	t.Run("On", func(t *testing.T) {
		f, p := setup(t, true)
		first := f.clk.Now().Add(time.Minute)
		for _, a := range []access.Actor{viewer, outsider, anon, member} {
			f.clk.Advance(time.Minute)
			must(t, f.s.RecordSeen(a, p.ID))
		}
		head := f.db.Head()
		f.clk.Advance(time.Hour)
		must(t, f.s.RecordSeen(viewer, p.ID))
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("second sight appended %v", got)
		}
		got := seen(t, f, p)
		want := []Seen{{viewer.UserID, first}, {outsider.UserID, first.Add(time.Minute)}}
		if !slices.EqualFunc(got, want, func(a, b Seen) bool { return a.UserID == b.UserID && a.At.Equal(b.At) }) {
			t.Fatalf("SeenBy = %+v, want %+v (first sight only; not the author, not anonymous)", got, want)
		}
		if n := len(eventsTyped(t, f.db, 0, "post.seen")); n != 2 {
			t.Fatalf("post.seen events = %d, want 2", n)
		}
	})
	t.Run("Off", func(t *testing.T) {
		f, p := setup(t, false)
		head := f.db.Head()
		must(t, f.s.RecordSeen(viewer, p.ID))
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("events = %v", got)
		}
		if got := seen(t, f, p); len(got) != 0 {
			t.Fatalf("SeenBy = %+v with the option off", got)
		}
	})
	t.Run("TurnedOffHides", func(t *testing.T) {
		f, p := setup(t, true)
		must(t, f.s.RecordSeen(viewer, p.ID))
		pv, err := f.s.Project(owner, "alpha")
		must(t, err)
		_, err = f.s.UpdateProject(owner, "alpha", ProjectInput{Name: pv.Name, Description: pv.Description, SeenBy: false})
		must(t, err)
		if got := seen(t, f, p); len(got) != 0 {
			t.Fatalf("SeenBy = %+v with the option off", got)
		}
	})
	t.Run("DraftNotRecorded", func(t *testing.T) {
		f, _ := setup(t, true)
		d := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
		must(t, f.s.RecordSeen(owner, d.ID))
		if got := seen(t, f, d); len(got) != 0 {
			t.Fatalf("SeenBy = %+v on a draft", got)
		}
	})
	t.Run("ErrPrivateOutsider", func(t *testing.T) {
		f := newFixture(t)
		f.project("secret", access.Private)
		p := f.post(member, "secret", titled("Hidden"))
		wantCode(t, f.s.RecordSeen(outsider, p.ID), apperr.NotFound)
		_, err := f.s.SeenBy(outsider, p.ID)
		wantCode(t, err, apperr.NotFound)
	})
}
