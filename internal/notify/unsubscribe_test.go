package notify_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"projblog/internal/apperr"
)

func TestUnsubscribeToken(t *testing.T) {
	e := newMailEnv(t, nil)
	ada := e.newUser("ada@example.com", "Ada", "", "")
	bob := e.newUser("bob@example.com", "Bob", "", "")

	url := e.n.UnsubscribeURL(ada.ID)
	token, ok := strings.CutPrefix(url, mailBaseURL+"/unsubscribe/")
	if !ok || token == "" || strings.ContainsAny(token, "/?#=+") {
		t.Fatalf("UnsubscribeURL = %q", url)
	}

	t.Run("RoundTrip", func(t *testing.T) {
		id, err := e.n.UserForUnsubscribe(token)
		if err != nil || id != ada.ID {
			t.Fatalf("UserForUnsubscribe = %d, %v; want %d", id, err, ada.ID)
		}
		if e.n.UnsubscribeURL(ada.ID) != url {
			t.Error("the link changes between calls")
		}
		if e.n.UnsubscribeURL(bob.ID) == url {
			t.Error("two users share a link")
		}
	})

	t.Run("StableAcrossRestart", func(t *testing.T) {
		e.reopen()
		if got := e.n.UnsubscribeURL(ada.ID); got != url {
			t.Errorf("after reopen the link is %q, was %q", got, url)
		}
		if id, err := e.n.UserForUnsubscribe(token); err != nil || id != ada.ID {
			t.Errorf("after reopen: %d, %v", id, err)
		}
	})

	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	bobRaw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(e.n.UnsubscribeURL(bob.ID), mailBaseURL+"/unsubscribe/"))
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	bad := map[string]string{
		"Empty":         "",
		"NotBase64":     "!!!not-a-token!!!",
		"TagFlipped":    flip(len(raw) - 1),
		"IDChanged":     flip(0), // another user's ID with Ada's tag
		"Truncated":     base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]),
		"Extended":      base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), raw...), 0)),
		"Swapped":       base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), bobRaw[:1]...), raw[1:]...)),
		"Padded":        token + "==",
		"UnknownUser":   strings.TrimPrefix(e.n.UnsubscribeURL(9999), mailBaseURL+"/unsubscribe/"),
		"ZeroUser":      strings.TrimPrefix(e.n.UnsubscribeURL(0), mailBaseURL+"/unsubscribe/"),
		"VeryLongInput": strings.Repeat("A", 4096),
	}
	for name, tok := range bad {
		t.Run("ErrNotFound"+name, func(t *testing.T) {
			id, err := e.n.UserForUnsubscribe(tok)
			if !apperr.Is(err, apperr.NotFound) || id != 0 {
				t.Errorf("UserForUnsubscribe(%q) = %d, %v; want NotFound", tok, id, err)
			}
		})
	}
}
