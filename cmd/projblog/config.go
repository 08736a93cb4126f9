package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is every setting of projblog, filled from flags and PROJBLOG_*
// environment variables (a flag wins over the environment). It travels in
// struct fields; there is no global config.
type Config struct {
	Listen     string // address serve listens on
	DataDir    string // directory of the database file
	BaseURL    string // public base URL, used in absolute links
	ThemeDir   string // a directory whose files override the embedded theme
	TimeZone   string // time zone for readers who have not chosen one
	TrustProxy bool   // take the client address from X-Forwarded-For
	DBTimeout  time.Duration
	AdminEmail string // login of the first admin created on first start
	LogFormat  string // "text" or "json"
	SMTPURL    string // smtp://user:pass@host:port or smtps://...; "" sends no e-mail
	MailFrom   string // sender address of notifications and digests
	// DebugListen, when set, serves Go's profiler (net/http/pprof) on
	// this address, apart from the site: for measuring, never public.
	DebugListen string
	// NoSearch runs the server without its full-text index (/search
	// answers 503), for a machine too small for it or a measurement.
	NoSearch bool

	// MailDomain turns the e-mail bridge on (internal/mailin): replies to
	// reply+TOKEN@MailDomain become comments, mail to a project's address
	// becomes a post. "" = no inbound mail, no reply addresses.
	MailDomain string
	// ProjectAddress is the form of a project's address ({slug}@MailDomain
	// by default).
	ProjectAddress string
	// SMTPListen is where serve takes inbound mail by SMTP; "" = not (the
	// site's mail server may pipe into `projblog mail deliver` instead).
	SMTPListen string

	// logger is where services log (serve sets it; nil: slog's default).
	logger *slog.Logger

	// bulk opens the database for a bulk load (seed): commits are not
	// fsynced one by one (the command syncs once at the end) and
	// passwords are hashed at the cheapest cost.
	bulk bool
}

// defaults returns the configuration of `make run`.
func defaults() Config {
	return Config{
		Listen:     "127.0.0.1:8080",
		DataDir:    "./data",
		TimeZone:   "UTC",
		DBTimeout:  time.Second,
		AdminEmail: "admin@localhost",
		LogFormat:  "text",
	}
}

// env returns PROJBLOG_<name> or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv("PROJBLOG_" + name); ok {
		return v
	}
	return def
}

// dataFlag registers --data on fs.
func (c *Config) dataFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", env("DATA", c.DataDir), "data directory holding the database `DIR` (env PROJBLOG_DATA)")
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", c.BaseURL), "public base `URL` used in absolute links (env PROJBLOG_BASE_URL; default http://<listen>)")
}

// mailFlags registers the flags of the e-mail bridge on fs.
func (c *Config) mailFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.MailDomain, "mail-domain", env("MAIL_DOMAIN", c.MailDomain), "mail `DOMAIN` whose addresses projblog answers: reply+TOKEN@DOMAIN for replies, SLUG@DOMAIN for projects (env PROJBLOG_MAIL_DOMAIN); without it no mail is taken")
	fs.StringVar(&c.ProjectAddress, "project-address", env("PROJECT_ADDRESS", c.ProjectAddress), "`FORM` of a project's address, {slug} standing for the project (env PROJBLOG_PROJECT_ADDRESS; default {slug}@<mail domain>)")
}

// serveFlags registers the flags of serve on fs.
func (c *Config) serveFlags(fs *flag.FlagSet) {
	c.dataFlag(fs)
	c.mailFlags(fs)
	fs.StringVar(&c.SMTPListen, "smtp-listen", env("SMTP_LISTEN", c.SMTPListen), "`ADDR`ess where serve takes inbound mail by SMTP, such as 127.0.0.1:2525 behind the site's mail server (env PROJBLOG_SMTP_LISTEN; needs --mail-domain); off by default")
	fs.StringVar(&c.Listen, "listen", env("LISTEN", c.Listen), "`ADDR`ess to listen on (env PROJBLOG_LISTEN)")
	fs.StringVar(&c.ThemeDir, "theme-dir", env("THEME_DIR", c.ThemeDir), "`DIR` whose templates and static files override the embedded theme (env PROJBLOG_THEME_DIR)")
	fs.StringVar(&c.TimeZone, "time-zone", env("TIME_ZONE", c.TimeZone), "IANA time `ZONE` for readers who have not set theirs (env PROJBLOG_TIME_ZONE)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", env("TRUST_PROXY", "") == "true", "take client addresses from X-Forwarded-For (only behind a reverse proxy; env PROJBLOG_TRUST_PROXY=true)")
	fs.StringVar(&c.AdminEmail, "admin-email", env("ADMIN_EMAIL", c.AdminEmail), "login `EMAIL` of the admin created on first start (env PROJBLOG_ADMIN_EMAIL)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", c.LogFormat), "log `FORMAT`: text or json (env PROJBLOG_LOG_FORMAT)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("SMTP_URL", c.SMTPURL), "mail server `URL`: smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (env PROJBLOG_SMTP_URL); without it no e-mail is sent and digests wait in the outbox")
	fs.BoolVar(&c.NoSearch, "no-search", env("NO_SEARCH", "") == "true", "run without the full-text search index: /search answers 503 (env PROJBLOG_NO_SEARCH=true)")
	fs.StringVar(&c.DebugListen, "debug-listen", env("DEBUG_LISTEN", c.DebugListen), "`ADDR`ess (such as 127.0.0.1:6060) where Go's profiler /debug/pprof/ answers; off by default, keep it on loopback (env PROJBLOG_DEBUG_LISTEN)")
	fs.StringVar(&c.MailFrom, "mail-from", env("MAIL_FROM", c.MailFrom), "sender `ADDRESS` of e-mail (env PROJBLOG_MAIL_FROM; default projblog@<host of --base-url>)")
}

// Validate checks the configuration and fills the derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	if c.BaseURL == "" {
		host := c.Listen
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		host = strings.Replace(host, "127.0.0.1", "localhost", 1)
		c.BaseURL = "http://" + host
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--base-url %q must be an absolute http:// or https:// URL", c.BaseURL))
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("--time-zone %q is not a known IANA time zone", c.TimeZone))
	}
	if c.MailFrom == "" && err == nil {
		c.MailFrom = "projblog@" + u.Hostname()
	}
	if c.SMTPURL != "" {
		su, err := url.Parse(c.SMTPURL)
		if err != nil || (su.Scheme != "smtp" && su.Scheme != "smtps") || su.Host == "" {
			errs = append(errs, fmt.Errorf("--smtp-url must look like smtp://user:pass@host:587 or smtps://user:pass@host:465"))
		}
	}
	c.MailDomain = strings.ToLower(strings.TrimSpace(c.MailDomain))
	if c.MailDomain != "" && (strings.ContainsAny(c.MailDomain, "@ /:") || !strings.Contains(c.MailDomain, ".") && c.MailDomain != "localhost") {
		errs = append(errs, fmt.Errorf("--mail-domain %q must be a domain name such as blog.example.com", c.MailDomain))
	}
	if c.SMTPListen != "" && c.MailDomain == "" {
		errs = append(errs, errors.New("--smtp-listen needs --mail-domain: the domain whose addresses it takes mail for"))
	}
	if c.ProjectAddress != "" && c.MailDomain == "" {
		errs = append(errs, errors.New("--project-address needs --mail-domain"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q must be text or json", c.LogFormat))
	}
	if c.ThemeDir != "" {
		if st, err := os.Stat(c.ThemeDir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("--theme-dir %q is not a directory", c.ThemeDir))
		}
	}
	return errors.Join(errs...)
}
