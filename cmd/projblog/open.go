package main

import (
	"fmt"
	"time"

	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// app is the opened database and the services built on it.
type app struct {
	db    *store.DB
	users *users.Service
	posts *posts.Service
}

// open opens the database in cfg.DataDir once and wires the domain
// services on it. A database held by a running server yields the store's
// "database is in use" error.
func open(cfg Config) (*app, error) {
	timeout := cfg.DBTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	db, err := store.Open(cfg.DataDir, store.Options{Timeout: timeout})
	if err != nil {
		return nil, err
	}
	u, err := users.New(db, users.Options{})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("users: %w", err)
	}
	p, err := posts.New(db, posts.Options{Mentions: u.ResolveHandles})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("posts: %w", err)
	}
	return &app{db: db, users: u, posts: p}, nil
}

func (a *app) Close() error { return a.db.Close() }
