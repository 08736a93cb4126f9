package posts

import (
	"slices"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

func TestUpdateProject(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	t.Run("OK", func(t *testing.T) {
		f.clk.Advance(time.Hour)
		p, err := f.s.UpdateProject(owner, "alpha", ProjectInput{Slug: "ignored", Name: "Alpha 2", Description: "D", Visibility: access.Private})
		must(t, err)
		if p.Slug != "alpha" || p.Name != "Alpha 2" || p.Description != "D" || p.Visibility != access.Private || !p.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("project = %+v", p)
		}
		if _, err := f.s.Project(owner, "ignored"); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("slug changed: %v", err)
		}
	})
	t.Run("EmptyVisibilityKeeps", func(t *testing.T) {
		p, err := f.s.UpdateProject(owner, "alpha", ProjectInput{Name: "Alpha 3"})
		must(t, err)
		if p.Visibility != access.Private {
			t.Errorf("visibility = %q", p.Visibility)
		}
	})
	t.Run("ErrMember", func(t *testing.T) {
		_, err := f.s.UpdateProject(member, "alpha", ProjectInput{Name: "X"})
		wantCode(t, err, apperr.Forbidden)
	})
	t.Run("ErrOutsiderSeesNothing", func(t *testing.T) {
		_, err := f.s.UpdateProject(outsider, "alpha", ProjectInput{Name: "X"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := f.s.UpdateProject(owner, "alpha", ProjectInput{Name: ""})
		wantField(t, err, apperr.Invalid, "name")
	})
	t.Run("AdminMay", func(t *testing.T) {
		_, err := f.s.UpdateProject(admin, "alpha", ProjectInput{Name: "By admin"})
		must(t, err)
	})
}

func TestProjectVisibility(t *testing.T) {
	f := newFixture(t)
	f.project("pub", access.Public)
	f.clk.Advance(time.Hour)
	f.project("int", access.Internal)
	f.clk.Advance(time.Hour)
	f.project("priv", access.Private)
	f.clk.Advance(time.Hour)
	must(t, f.s.SetArchived(owner, "pub", true))

	tests := []struct {
		name  string
		actor access.Actor
		want  []string // readable, most recently active first
	}{
		{"Anonymous", anon, []string{"pub"}},
		{"Outsider", outsider, []string{"int", "pub"}},
		{"Viewer", viewer, []string{"priv", "int", "pub"}},
		{"Admin", access.Actor{UserID: 99, Admin: true}, []string{"priv", "int", "pub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pvs, err := f.s.Projects(tt.actor)
			must(t, err)
			var got []string
			for _, pv := range pvs {
				got = append(got, pv.Slug)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Projects = %v, want %v", got, tt.want)
			}
			for _, slug := range []string{"pub", "int", "priv", "missing"} {
				_, err := f.s.Project(tt.actor, slug)
				if slices.Contains(tt.want, slug) {
					must(t, err)
				} else {
					wantCode(t, err, apperr.NotFound)
				}
			}
		})
	}
	t.Run("RoleInView", func(t *testing.T) {
		pv, err := f.s.Project(viewer, "priv")
		must(t, err)
		if pv.Role != access.Viewer || pv.Can(viewer, access.Post) || !pv.Can(viewer, access.Read) {
			t.Errorf("view = %+v", pv)
		}
		pv, err = f.s.ProjectByID(member, pv.ID)
		must(t, err)
		if pv.Role != access.Member || !pv.Can(member, access.Post) {
			t.Errorf("view = %+v", pv)
		}
		_, err = f.s.ProjectByID(outsider, pv.ID)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("ProjectsOf", func(t *testing.T) {
		pvs, err := f.s.ProjectsOf(viewer.UserID)
		must(t, err)
		if len(pvs) != 3 || pvs[0].Slug != "priv" || pvs[0].Role != access.Viewer {
			t.Errorf("ProjectsOf = %+v", pvs)
		}
		pvs, err = f.s.ProjectsOf(outsider.UserID)
		must(t, err)
		if len(pvs) != 0 {
			t.Errorf("outsider is in %d projects", len(pvs))
		}
	})
	t.Run("LastActivityOrdersProjects", func(t *testing.T) {
		f.post(member, "int", titled("News"))
		pvs, err := f.s.Projects(viewer)
		must(t, err)
		if pvs[0].Slug != "int" || pvs[0].PostCount != 1 || !pvs[0].LastActivity.Equal(f.clk.Now()) {
			t.Errorf("first = %+v", pvs[0].Project)
		}
	})
}

func TestMembers(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Private)
	t.Run("List", func(t *testing.T) {
		ms, err := f.s.Members(viewer, "alpha")
		must(t, err)
		var got []uint64
		for _, m := range ms {
			got = append(got, m.UserID)
		}
		if want := []uint64{owner.UserID, member.UserID, member2.UserID, viewer.UserID}; !slices.Equal(got, want) {
			t.Errorf("members = %v, want %v", got, want)
		}
		_, err = f.s.Members(outsider, "alpha")
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("ErrLastOwnerDemote", func(t *testing.T) {
		err := f.s.SetMember(owner, "alpha", owner.UserID, access.Member)
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("ErrLastOwnerRemove", func(t *testing.T) {
		err := f.s.RemoveMember(admin, "alpha", owner.UserID)
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("ErrMemberMayNotManage", func(t *testing.T) {
		wantCode(t, f.s.SetMember(member, "alpha", outsider.UserID, access.Viewer), apperr.Forbidden)
		wantCode(t, f.s.RemoveMember(member, "alpha", viewer.UserID), apperr.Forbidden)
		wantCode(t, f.s.SetMember(outsider, "alpha", outsider.UserID, access.Owner), apperr.NotFound)
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		wantField(t, f.s.SetMember(owner, "alpha", outsider.UserID, "boss"), apperr.Invalid, "role")
		wantField(t, f.s.SetMember(owner, "alpha", 0, access.Viewer), apperr.Invalid, "user")
		wantCode(t, f.s.RemoveMember(owner, "alpha", outsider.UserID), apperr.NotFound)
	})
	t.Run("SecondOwnerThenDemote", func(t *testing.T) {
		must(t, f.s.SetMember(owner, "alpha", member.UserID, access.Owner))
		must(t, f.s.SetMember(member, "alpha", owner.UserID, access.Viewer))
		role, err := f.s.RoleOf(mustProject(t, f, "alpha").ID, owner.UserID)
		must(t, err)
		if role != access.Viewer {
			t.Errorf("role = %q", role)
		}
		wantCode(t, f.s.RemoveMember(member, "alpha", member.UserID), apperr.Conflict)
	})
	t.Run("RemoveRevokesAccess", func(t *testing.T) {
		must(t, f.s.RemoveMember(member, "alpha", viewer.UserID))
		_, err := f.s.Project(viewer, "alpha")
		wantCode(t, err, apperr.NotFound)
		pvs, err := f.s.ProjectsOf(viewer.UserID)
		must(t, err)
		if len(pvs) != 0 {
			t.Errorf("still in %d projects", len(pvs))
		}
	})
	t.Run("RoleOfMissingProject", func(t *testing.T) {
		_, err := f.s.RoleOf(999, owner.UserID)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestArchivedProjectRefusesWrites(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	pub := f.post(member, "alpha", titled("Published"))
	draft := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
	wantCode(t, f.s.SetArchived(member, "alpha", true), apperr.Forbidden)
	must(t, f.s.SetArchived(owner, "alpha", true))

	t.Run("ErrCreate", func(t *testing.T) {
		_, err := f.s.CreatePost(member, "alpha", titled("New"))
		wantCode(t, err, apperr.Forbidden)
		_, err = f.s.CreatePost(admin, "alpha", titled("New"))
		wantCode(t, err, apperr.Forbidden)
	})
	t.Run("ErrEditDeletePin", func(t *testing.T) {
		_, err := f.s.UpdatePost(member, pub.ID, titled("Changed"))
		wantCode(t, err, apperr.Forbidden)
		wantCode(t, f.s.DeletePost(owner, pub.ID), apperr.Forbidden)
		wantCode(t, f.s.SetPinned(owner, pub.ID, true), apperr.Forbidden)
	})
	t.Run("StillReadable", func(t *testing.T) {
		_, page, err := f.s.ProjectPosts(outsider, "alpha", "", 10)
		must(t, err)
		if len(page.Posts) != 1 {
			t.Errorf("posts = %v", titles(page.Posts))
		}
		drafts, err := f.s.Drafts(member, "alpha")
		must(t, err)
		if len(drafts) != 1 || drafts[0].ID != draft.ID {
			t.Errorf("drafts = %v", titles(drafts))
		}
		if _, _, err := f.s.Post(member, draft.ID); err != nil {
			t.Errorf("author cannot see own draft in archived project: %v", err)
		}
	})
	t.Run("MembersStillManaged", func(t *testing.T) {
		must(t, f.s.SetMember(owner, "alpha", outsider.UserID, access.Viewer))
	})
	t.Run("Unarchive", func(t *testing.T) {
		must(t, f.s.SetArchived(owner, "alpha", false))
		f.post(member, "alpha", titled("After"))
	})
}
