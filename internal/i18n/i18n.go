// Package i18n is projblog's one message catalogue (English and French),
// the choice of a reader's language, and the formatting of dates and times
// in that language. Every string a person reads goes through it.
//
// Messages live in locales/<lang>.json as key → text, where text is a
// fmt format. Plural forms use two keys, "<key>.one" and "<key>.other".
// A test checks that both languages carry the same keys.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/text/language"
)

// Languages lists the supported languages, default first.
var Languages = []string{"en", "fr"}

//go:embed locales/*.json
var localeFS embed.FS

var catalogue = map[string]map[string]string{}

var matcher = language.NewMatcher([]language.Tag{language.English, language.French})

func init() {
	for _, l := range Languages {
		b, err := localeFS.ReadFile("locales/" + l + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: locales/%s.json: %v", l, err))
		}
		catalogue[l] = m
	}
}

// Keys returns every key of lang's catalogue (for tests).
func Keys(lang string) []string {
	out := make([]string, 0, len(catalogue[lang]))
	for k := range catalogue[lang] {
		out = append(out, k)
	}
	return out
}

// Has reports whether lang's catalogue carries key.
func Has(lang, key string) bool { _, ok := catalogue[lang][key]; return ok }

// Negotiate picks the reader's language: their saved setting if it is
// supported, else the best match for the Accept-Language header, else
// English.
func Negotiate(setting, acceptLanguage string) string {
	if Supported(setting) {
		return setting
	}
	if acceptLanguage != "" {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			_, idx, conf := matcher.Match(tags...)
			if conf != language.No {
				return Languages[idx]
			}
		}
	}
	return "en"
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return lang == "en" || lang == "fr" }

// T returns the message key in lang, formatted with args. A key missing
// from lang falls back to English, then to the key itself (a test keeps
// that from happening).
func T(lang, key string, args ...any) string {
	msg, ok := catalogue[lang][key]
	if !ok {
		if msg, ok = catalogue["en"][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// N returns the plural form of key for n ("<key>.one" or "<key>.other"),
// formatted with n. French treats 0 and 1 as singular; English only 1.
func N(lang, key string, n int) string {
	form := ".other"
	if n == 1 || (lang == "fr" && n == 0) {
		form = ".one"
	}
	return T(lang, key+form, n)
}

var monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// MonthName returns the month's name in lang ("November", "novembre").
func MonthName(lang string, m time.Month) string {
	if lang == "fr" {
		return monthsFR[m-1]
	}
	return m.String()
}

var weekdaysFR = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}

// WeekdayName returns the day's name in lang ("Friday", "vendredi").
func WeekdayName(lang string, d time.Weekday) string {
	if lang == "fr" {
		return weekdaysFR[d]
	}
	return d.String()
}

// MonthYear formats a month of a year ("November 2026", "novembre 2026").
func MonthYear(lang string, y int, m time.Month) string {
	return fmt.Sprintf("%s %d", MonthName(lang, m), y)
}

// Date formats t's calendar date in loc ("27 November 2026",
// "27 novembre 2026").
func Date(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	d := fmt.Sprint(t.Day())
	if lang == "fr" && t.Day() == 1 {
		d = "1er"
	}
	return fmt.Sprintf("%s %s %d", d, MonthName(lang, t.Month()), t.Year())
}

// DateTime formats t's date and time of day in loc, 24-hour clock
// ("27 November 2026, 14:05", "27 novembre 2026 à 14 h 05" as the Office
// québécois de la langue française writes it).
func DateTime(lang string, t time.Time, loc *time.Location) string {
	lt := t.In(loc)
	if lang == "fr" {
		return fmt.Sprintf("%s à %d h %02d", Date(lang, t, loc), lt.Hour(), lt.Minute())
	}
	return fmt.Sprintf("%s, %02d:%02d", Date(lang, t, loc), lt.Hour(), lt.Minute())
}

// Relative says how long ago t was, seen from now ("3 hours ago", "il y a
// 3 heures"); beyond a week it gives the date.
func Relative(lang string, t, now time.Time, loc *time.Location) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return T(lang, "time.just_now")
	case d < time.Hour:
		return N(lang, "time.minutes_ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return N(lang, "time.hours_ago", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return N(lang, "time.days_ago", int(d/(24*time.Hour)))
	}
	return Date(lang, t, loc)
}
