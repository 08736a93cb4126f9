package i18n

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	en, fr := Keys("en"), Keys("fr")
	sort.Strings(en)
	sort.Strings(fr)
	in := func(list []string, k string) bool {
		i := sort.SearchStrings(list, k)
		return i < len(list) && list[i] == k
	}
	for _, k := range en {
		if !in(fr, k) {
			t.Errorf("fr lacks %q", k)
		}
		if strings.TrimSpace(T("fr", k)) == "" {
			t.Errorf("fr %q is empty", k)
		}
	}
	for _, k := range fr {
		if !in(en, k) {
			t.Errorf("en lacks %q", k)
		}
	}
	for _, k := range en {
		if strings.Count(catalogue["en"][k], "%") != strings.Count(catalogue["fr"][k], "%") {
			t.Errorf("%q: the two languages take different arguments", k)
		}
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct{ setting, accept, want string }{
		{"", "", "en"},
		{"", "fr-CA,fr;q=0.9,en;q=0.8", "fr"},
		{"", "en-US,en;q=0.9,fr;q=0.5", "en"},
		{"", "de-DE,fr;q=0.5", "fr"},
		{"", "de-DE", "en"},
		{"en", "fr-CA", "en"},
		{"fr", "en", "fr"},
		{"xx", "fr", "fr"},
		{"", "garbage;;;q=", "en"},
	}
	for _, c := range cases {
		if got := Negotiate(c.setting, c.accept); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c.setting, c.accept, got, c.want)
		}
	}
}

func TestDates(t *testing.T) {
	toronto, err := time.LoadLocation("America/Toronto")
	if err != nil {
		t.Fatal(err)
	}
	// 02:30 UTC on 1 March is still 28 February in Toronto.
	ts := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	cases := []struct{ got, want string }{
		{Date("en", ts, time.UTC), "1 March 2026"},
		{Date("fr", ts, time.UTC), "1er mars 2026"},
		{Date("fr", ts, toronto), "28 février 2026"},
		{DateTime("en", ts, toronto), "28 February 2026, 21:30"},
		{DateTime("fr", ts, toronto), "28 février 2026 à 21 h 30"},
		{MonthYear("fr", 2026, time.August), "août 2026"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestRelativeAndPlurals(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		lang string
		ago  time.Duration
		want string
	}{
		{"en", 10 * time.Second, "just now"},
		{"en", time.Minute, "1 minute ago"},
		{"en", 5 * time.Minute, "5 minutes ago"},
		{"fr", 3 * time.Hour, "il y a 3 heures"},
		{"fr", 24 * time.Hour, "il y a 1 jour"},
		{"en", 30 * 24 * time.Hour, "28 October 2026"},
	}
	for _, c := range cases {
		if got := Relative(c.lang, now.Add(-c.ago), now, time.UTC); got != c.want {
			t.Errorf("Relative(%s, %v) = %q, want %q", c.lang, c.ago, got, c.want)
		}
	}
	if N("fr", "project.posts", 0) != "0 billet" || N("en", "project.posts", 0) != "0 updates" {
		t.Errorf("zero plural: fr %q, en %q", N("fr", "project.posts", 0), N("en", "project.posts", 0))
	}
	if T("en", "no.such.key") != "no.such.key" {
		t.Error("a missing key should show itself")
	}
}
