package users

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
)

func TestAuthenticate(t *testing.T) {
	s, _, _ := mustService(t)
	ada := mustCreate(t, s, "ada@example.com", "Ada", true)
	gone := mustCreate(t, s, "gone@example.com", "Gone", false)
	if err := s.SetActive(gone.ID, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, password string
		wantID                uint64
	}{
		{"OK", "ada@example.com", testPassword, ada.ID},
		{"OKAnyCase", "  ADA@Example.com ", testPassword, ada.ID},
		{"WrongPassword", "ada@example.com", "wrong password", 0},
		{"PasswordCase", "ada@example.com", strings.ToUpper(testPassword), 0},
		{"EmptyPassword", "ada@example.com", "", 0},
		{"TooLongPassword", "ada@example.com", testPassword + strings.Repeat("x", 100), 0},
		{"UnknownEmail", "nobody@example.com", testPassword, 0},
		{"EmptyEmail", "", testPassword, 0},
		{"InvalidUTF8", "ada\xff@example.com", testPassword, 0},
		{"Deactivated", "gone@example.com", testPassword, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh address each case, so throttling plays no part.
			u, err := s.Authenticate(tt.email, tt.password, fmt.Sprintf("198.51.100.%d", i))
			if tt.wantID != 0 {
				if err != nil || u.ID != tt.wantID {
					t.Fatalf("Authenticate = %v, %v; want user %d", u, err, tt.wantID)
				}
				if u.PasswordHash != nil {
					t.Error("Authenticate returned the hash")
				}
				return
			}
			wantCode(t, err, apperr.Unauthorized, "")
			if msg := apperr.MessageOf(err); msg != "Wrong email or password." {
				t.Errorf("message = %q", msg)
			}
		})
	}
}

// TestAuthenticatePasswordless checks that an account without a hash (a
// future single-sign-on account) never passes a password check.
func TestAuthenticatePasswordless(t *testing.T) {
	s, db, _ := mustService(t)
	u := mustCreate(t, s, "sso@example.com", "SSO", false)
	raw := rawUser(t, db, u.ID)
	raw.PasswordHash = nil
	if err := db.Bolt().Update(func(tx *bbolt.Tx) error { return putUser(tx, raw) }); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", testPassword} {
		_, err := s.Authenticate("sso@example.com", pw, "")
		wantCode(t, err, apperr.Unauthorized, "")
	}
}

func TestThrottleAccount(t *testing.T) {
	s, _, c := mustService(t)
	mustCreate(t, s, "ada@example.com", "Ada", false)
	mustCreate(t, s, "bob@example.com", "Bob", false)
	ip := func(i int) string { return fmt.Sprintf("203.0.113.%d", i) } // many addresses: only the account limit applies

	// Five failures, a minute apart, from different addresses.
	for i := range MaxFailuresPerAcc {
		if _, err := s.Authenticate("ada@example.com", "wrong password", ip(i)); !apperr.Is(err, apperr.Unauthorized) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		c.Advance(time.Minute)
	}
	// Now 5 minutes after the first failure, which leaves the window at 15.
	t.Run("BlockedEvenWithRightPassword", func(t *testing.T) {
		_, err := s.Authenticate("ADA@example.com", testPassword, ip(50))
		wantCode(t, err, apperr.TooMany, "")
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "10 minutes") {
			t.Errorf("message %q does not say to try again in 10 minutes", msg)
		}
	})
	t.Run("OtherAccountUnaffected", func(t *testing.T) {
		if _, err := s.Authenticate("bob@example.com", testPassword, ip(1)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UnknownEmailThrottledToo", func(t *testing.T) {
		for i := range MaxFailuresPerAcc {
			if _, err := s.Authenticate("nobody@example.com", "x", ip(100+i)); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		_, err := s.Authenticate("nobody@example.com", "x", ip(120))
		wantCode(t, err, apperr.TooMany, "")
	})
	t.Run("LastSecond", func(t *testing.T) {
		c.Advance(10*time.Minute - time.Second)
		_, err := s.Authenticate("ada@example.com", testPassword, ip(51))
		wantCode(t, err, apperr.TooMany, "")
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "in a minute") {
			t.Errorf("message = %q", msg)
		}
	})
	t.Run("WindowPasses", func(t *testing.T) {
		c.Advance(time.Second)
		if _, err := s.Authenticate("ada@example.com", testPassword, ip(52)); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
	t.Run("SuccessClearsCounter", func(t *testing.T) {
		for i := range MaxFailuresPerAcc - 1 {
			if _, err := s.Authenticate("ada@example.com", "wrong password", ip(60+i)); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		if _, err := s.Authenticate("ada@example.com", testPassword, ip(70)); err != nil {
			t.Fatal(err)
		}
		for i := range MaxFailuresPerAcc - 1 {
			if _, err := s.Authenticate("ada@example.com", "wrong password", ip(80+i)); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("failure %d after success: %v", i+1, err)
			}
		}
		if _, err := s.Authenticate("ada@example.com", testPassword, ip(90)); err != nil {
			t.Errorf("4 failures after a success blocked the account: %v", err)
		}
	})
}

func TestThrottleIP(t *testing.T) {
	s, _, c := mustService(t)
	mustCreate(t, s, "ada@example.com", "Ada", false)

	fail := func(t *testing.T, ip string, n int) {
		t.Helper()
		for i := range n {
			// A different email each time keeps under the account limit.
			email := fmt.Sprintf("guess%d-%s@example.com", i, strings.NewReplacer(":", "", ".", "", "[", "", "]", "").Replace(ip))
			if _, err := s.Authenticate(email, "guess", ip); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("failure %d from %s: %v", i+1, ip, err)
			}
		}
	}
	t.Run("IPv4", func(t *testing.T) {
		fail(t, "192.0.2.7", MaxFailuresPerIP-1)
		if _, err := s.Authenticate("ada@example.com", testPassword, "192.0.2.7"); err != nil {
			t.Fatalf("19 failures blocked the address: %v", err)
		}
		fail(t, "192.0.2.7", 1)
		_, err := s.Authenticate("ada@example.com", testPassword, "192.0.2.7")
		wantCode(t, err, apperr.TooMany, "")
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "15 minutes") {
			t.Errorf("message = %q", msg)
		}
		_, err = s.Authenticate("ada@example.com", testPassword, "192.0.2.7:52100")
		wantCode(t, err, apperr.TooMany, "")
		if _, err := s.Authenticate("ada@example.com", testPassword, "192.0.2.8"); err != nil {
			t.Errorf("another address was blocked: %v", err)
		}
	})
	t.Run("IPv6Slash64", func(t *testing.T) {
		fail(t, "2001:db8:1:2::1", MaxFailuresPerIP)
		for _, ip := range []string{"2001:db8:1:2::ffff", "[2001:db8:1:2:aaaa::1]:443"} {
			_, err := s.Authenticate("ada@example.com", testPassword, ip)
			wantCode(t, err, apperr.TooMany, "")
		}
		if _, err := s.Authenticate("ada@example.com", testPassword, "2001:db8:1:3::1"); err != nil {
			t.Errorf("another /64 was blocked: %v", err)
		}
	})
	t.Run("NoAddressNotLimited", func(t *testing.T) {
		fail(t, "", MaxFailuresPerIP+5)
		if _, err := s.Authenticate("ada@example.com", testPassword, ""); err != nil {
			t.Errorf("empty address was limited: %v", err)
		}
	})
	t.Run("WindowPasses", func(t *testing.T) {
		c.Advance(ThrottleWindow)
		for _, ip := range []string{"192.0.2.7", "2001:db8:1:2::1"} {
			if _, err := s.Authenticate("ada@example.com", testPassword, ip); err != nil {
				t.Errorf("%s still blocked after the window: %v", ip, err)
			}
		}
	})
	t.Run("Swept", func(t *testing.T) {
		c.Advance(ThrottleWindow + time.Minute)
		fail(t, "192.0.2.99", 1) // a failure triggers the sweep
		s.throttle.mu.Lock()
		n := len(s.throttle.ips)
		s.throttle.mu.Unlock()
		if n != 1 {
			t.Errorf("%d addresses remembered after the window, want 1", n)
		}
	})
}

func TestIPKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:8080", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::/64"},
		{"[2001:db8::1]:443", "2001:db8::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not-an-address", "not-an-address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ipKey(tt.in); got != tt.want {
				t.Errorf("ipKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestConcurrentAuthenticate exercises the throttle's lock under -race.
func TestConcurrentAuthenticate(t *testing.T) {
	s, _, _ := mustService(t)
	mustCreate(t, s, "ada@example.com", "Ada", false)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				pw := testPassword
				if j%2 == 1 {
					pw = "wrong password"
				}
				_, err := s.Authenticate(fmt.Sprintf("user%d@example.com", j%3), pw, fmt.Sprintf("192.0.2.%d", i))
				if c := apperr.CodeOf(err); c != apperr.Unauthorized && c != apperr.TooMany {
					t.Errorf("unexpected %v", err)
				}
				if _, err := s.Authenticate("ada@example.com", testPassword, "198.51.100.1"); err != nil {
					t.Errorf("right password failed: %v", err)
				}
			}
		})
	}
	wg.Wait()
}
