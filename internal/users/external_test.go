package users

import (
	"testing"

	"projblog/internal/apperr"
)

func TestExternalAuthor(t *testing.T) {
	s, db, _ := mustService(t)
	known := mustCreate(t, s, "ada@example.com", "Ada Lovelace", false)

	u, err := s.ExternalAuthor("ADA@example.com", "Someone Else")
	if err != nil || u.ID != known.ID || u.External {
		t.Fatalf("a known address: %+v, %v; want the account %d", u, err, known.ID)
	}

	ext, err := s.ExternalAuthor("  Francois.Lefevre@Partner.example ", "François Lefèvre")
	if err != nil {
		t.Fatal(err)
	}
	if !ext.External || ext.Active || ext.Name != "François Lefèvre" || ext.Email != "francois.lefevre@partner.example" || ext.Handle == "" {
		t.Fatalf("external author %+v", ext)
	}
	if raw := rawUser(t, db, ext.ID); len(raw.PasswordHash) != 0 {
		t.Error("an external author has a password hash")
	}
	again, err := s.ExternalAuthor("francois.lefevre@partner.example", "F. L.")
	if err != nil || again.ID != ext.ID || again.Name != "François Lefèvre" {
		t.Fatalf("second call: %+v, %v", again, err)
	}
	// Cannot sign in.
	if _, err := s.Authenticate("francois.lefevre@partner.example", "", "127.0.0.1"); err == nil {
		t.Error("an external author signed in with an empty password")
	}
	// No usable name: the local part.
	noName, err := s.ExternalAuthor("bot@example.org", "")
	if err != nil || noName.Name != "bot" {
		t.Fatalf("nameless: %+v, %v", noName, err)
	}
	_, err = s.ExternalAuthor("not an address", "x")
	if !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a bad address: %v", err)
	}
	// Activating makes it an account.
	if err := s.SetActive(ext.ID, true); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.ByID(ext.ID); u.External || !u.Active {
		t.Errorf("after activation: %+v", u)
	}
}
