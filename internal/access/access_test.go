package access_test

import (
	"fmt"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// The matrix of the issue, written out by hand: for each project kind and
// action, which of the eight kinds of reader may do it. Columns: anonymous,
// logged-in non-member, viewer, member, owner, admin (not a member), a
// guest of this project (an outside reader with a guest grant for it, no
// account), and a guest of another project.
var matrix = map[string]map[access.Action]string{
	"public": {
		access.Read:          "YYYYYYYY",
		access.Post:          "...YYY..",
		access.EditOwn:       "...YYY..",
		access.EditOthers:    "....YY..",
		access.ManageMembers: "....YY..",
		access.ManageProject: "....YY..",
		access.Discuss:       ".YYYYY..",
	},
	"internal": {
		access.Read:          ".YYYYYY.",
		access.Post:          "...YYY..",
		access.EditOwn:       "...YYY..",
		access.EditOthers:    "....YY..",
		access.ManageMembers: "....YY..",
		access.ManageProject: "....YY..",
		access.Discuss:       ".YYYYY..",
	},
	"private": {
		access.Read:          "..YYYYY.",
		access.Post:          "...YYY..",
		access.EditOwn:       "...YYY..",
		access.EditOthers:    "....YY..",
		access.ManageMembers: "....YY..",
		access.ManageProject: "....YY..",
		access.Discuss:       "..YYYY..",
	},
	"archived": { // an archived internal project: readable, frozen, still manageable
		access.Read:          ".YYYYYY.",
		access.Post:          "........",
		access.EditOwn:       "........",
		access.EditOthers:    "........",
		access.ManageMembers: "....YY..",
		access.ManageProject: "....YY..",
		access.Discuss:       "........",
	},
}

var readers = []struct {
	name  string
	actor access.Actor
	role  access.Role
}{
	{"anonymous", access.Anonymous, access.NoRole},
	{"non-member", access.Actor{UserID: 2}, access.NoRole},
	{"viewer", access.Actor{UserID: 3}, access.Viewer},
	{"member", access.Actor{UserID: 4}, access.Member},
	{"owner", access.Actor{UserID: 5}, access.Owner},
	{"admin", access.Actor{UserID: 6, Admin: true}, access.NoRole},
	{"guest", access.Actor{GuestOf: matrixProjectID}, access.NoRole},
	{"other-guest", access.Actor{GuestOf: matrixProjectID + 1}, access.NoRole},
}

// matrixProjectID is the ID of the matrix's project (every kind).
const matrixProjectID = 7

func subjectFor(kind string, role access.Role) access.Subject {
	switch kind {
	case "archived":
		return access.Subject{ProjectID: matrixProjectID, Visibility: access.Internal, Archived: true, Role: role}
	default:
		return access.Subject{ProjectID: matrixProjectID, Visibility: access.Visibility(kind), Role: role}
	}
}

func TestMatrix(t *testing.T) {
	for kind, rows := range matrix {
		for act, want := range rows {
			for i, r := range readers {
				t.Run(fmt.Sprintf("%s/%s/%s", kind, strings.ReplaceAll(act.String(), " ", "-"), r.name), func(t *testing.T) {
					got := access.Can(r.actor, subjectFor(kind, r.role), act)
					if got != (want[i] == 'Y') {
						t.Errorf("Can = %v, want %v", got, !got)
					}
					err := access.Check(r.actor, subjectFor(kind, r.role), act)
					if got != (err == nil) {
						t.Errorf("Check = %v disagrees with Can = %v", err, got)
					}
				})
			}
		}
	}
}

// TestCheckCodes: a project the reader may not read is NotFound — never
// Forbidden, which would reveal that it exists.
func TestCheckCodes(t *testing.T) {
	cases := []struct {
		name  string
		actor access.Actor
		subj  access.Subject
		act   access.Action
		want  apperr.Code
	}{
		{"PrivateToOutsider", access.Actor{UserID: 2}, access.Subject{Visibility: access.Private}, access.Read, apperr.NotFound},
		{"PrivatePostByOutsider", access.Actor{UserID: 2}, access.Subject{Visibility: access.Private}, access.Post, apperr.NotFound},
		{"InternalToAnonymous", access.Anonymous, access.Subject{Visibility: access.Internal}, access.Read, apperr.NotFound},
		{"PublicPostByAnonymous", access.Anonymous, access.Subject{Visibility: access.Public}, access.Post, apperr.Unauthorized},
		{"ViewerPosts", access.Actor{UserID: 3}, access.Subject{Visibility: access.Private, Role: access.Viewer}, access.Post, apperr.Forbidden},
		{"MemberManages", access.Actor{UserID: 4}, access.Subject{Visibility: access.Public, Role: access.Member}, access.ManageMembers, apperr.Forbidden},
		{"OwnerPostsInArchive", access.Actor{UserID: 5}, access.Subject{Visibility: access.Public, Archived: true, Role: access.Owner}, access.Post, apperr.Forbidden},
		// A guest reads their project and is asked to log in for anything
		// else there; any other private project does not exist for them.
		{"GuestPostsInTheirProject", access.Actor{GuestOf: 7}, access.Subject{ProjectID: 7, Visibility: access.Private}, access.Post, apperr.Unauthorized},
		{"GuestDiscussesInTheirProject", access.Actor{GuestOf: 7}, access.Subject{ProjectID: 7, Visibility: access.Private}, access.Discuss, apperr.Unauthorized},
		{"GuestReadsAnotherProject", access.Actor{GuestOf: 7}, access.Subject{ProjectID: 8, Visibility: access.Private}, access.Read, apperr.NotFound},
		{"GuestReadsInternalProject", access.Actor{GuestOf: 7}, access.Subject{ProjectID: 8, Visibility: access.Internal}, access.Read, apperr.NotFound},
		// A subject that does not say which project it is matches no grant.
		{"GuestGrantNeedsProjectID", access.Actor{GuestOf: 7}, access.Subject{Visibility: access.Private}, access.Read, apperr.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := access.Check(tc.actor, tc.subj, tc.act)
			if apperr.CodeOf(err) != tc.want {
				t.Fatalf("code %q (%v), want %q", apperr.CodeOf(err), err, tc.want)
			}
		})
	}
	if err := access.Check(access.Actor{UserID: 5}, access.Subject{Visibility: access.Public, Archived: true, Role: access.Owner}, access.Post); !strings.Contains(apperr.MessageOf(err), "archived") {
		t.Errorf("archived refusal does not say why: %v", err)
	}
}

func TestRoles(t *testing.T) {
	if !access.Owner.AtLeast(access.Member) || access.Viewer.AtLeast(access.Member) || access.NoRole.Valid() || access.Role("boss").Valid() {
		t.Fatal("role order is wrong")
	}
	if access.Visibility("secret").Valid() || !access.Private.Valid() {
		t.Fatal("visibility validation is wrong")
	}
}
