package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/mailin"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/search"
	"projblog/internal/store"
	"projblog/internal/users"
)

// app is the opened database and the services built on it.
type app struct {
	db     *store.DB
	users  *users.Service
	posts  *posts.Service
	notify *notify.Service
	mail   *mailin.Service
}

// open opens the database in cfg.DataDir once and wires the domain
// services on it. A database held by a running server yields the store's
// "database is in use" error.
func open(cfg Config) (*app, error) {
	timeout := cfg.DBTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	db, err := store.Open(cfg.DataDir, store.Options{Timeout: timeout, NoSync: cfg.bulk})
	if err != nil {
		return nil, err
	}
	uopts := users.Options{}
	if cfg.bulk {
		uopts.BcryptCost = seedBcryptCost
	}
	u, err := users.New(db, uopts)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("users: %w", err)
	}
	p, err := posts.New(db, posts.Options{Mentions: u.ResolveHandles})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("posts: %w", err)
	}
	var mailer notify.Mailer
	if cfg.SMTPURL != "" {
		if mailer, err = notify.NewSMTPMailer(cfg.SMTPURL, cfg.MailFrom); err != nil {
			db.Close()
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
	}
	m, err := mailin.New(db, p, u, mailin.Options{Domain: cfg.MailDomain, ProjectAddress: cfg.ProjectAddress, BaseURL: cfg.BaseURL, Logger: cfg.logger})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("--project-address: %w", err)
	}
	n, err := notify.New(db, p, u, notify.Options{BaseURL: cfg.BaseURL, Mailer: mailer, From: cfg.MailFrom, ReplyAddress: m.ReplyAddress})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("notify: %w", err)
	}
	return &app{db: db, users: u, posts: p, notify: n, mail: m}, nil
}

func (a *app) Close() error { return a.db.Close() }

// user is the account with this e-mail address. A missing one is an
// error naming the address and where it came from (flagName, such as
// "--owner", or "" for an argument).
func (a *app) user(flagName, email string) (*users.User, error) {
	u, err := a.users.ByEmail(email)
	if apperr.Is(err, apperr.NotFound) {
		if flagName != "" {
			flagName += ": "
		}
		return nil, fmt.Errorf("%sno user with e-mail %s (add one with `projblog user add`)", flagName, email)
	}
	return u, err
}

// searchDir is where the search index lives in the data directory.
func searchDir(dataDir string) string { return filepath.Join(dataDir, "search") }

// openSearch opens the data directory's search index. An index that
// cannot be read is replaced by an empty one (search.Open logs it), which
// the first CatchUp (serve: the indexing loop) builds from the database.
func openSearch(a *app, dataDir string, log *slog.Logger) (*search.Index, error) {
	ix, err := search.Open(searchDir(dataDir), a.db, a.posts, search.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	return ix, nil
}
