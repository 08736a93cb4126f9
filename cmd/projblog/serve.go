package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"projblog/internal/web"
)

func cmdServe(args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("serve", "serve [--listen ADDR] [--data DIR] [--base-url URL] [--theme-dir DIR]", stderr)
	cfg.serveFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(handler)

	// Catch the signals before anything is printed: a supervisor that
	// stops the server as soon as it reads "serving on" must get a
	// graceful shutdown, not the default action that kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	// The search index is derived data: one that cannot be read is
	// replaced and built again in the background (ix.Run), never a
	// reason not to start.
	ix, err := openSearch(a, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer ix.Close()

	loc, _ := time.LoadLocation(cfg.TimeZone)
	srv, err := web.New(a.db, a.posts, a.users, web.Options{
		BaseURL:         cfg.BaseURL,
		ThemeDir:        cfg.ThemeDir,
		DefaultTimeZone: loc,
		TrustProxy:      cfg.TrustProxy,
		Logger:          log,
		Version:         version,
		Notify:          a.notify,
		Search:          ix,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	stopControl, err := serveControl(ctx, cfg.DataDir, a.db, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopControl()
	// The first admin is created only once nothing else can fail before
	// its password is printed: a password created on a start that then
	// failed (port taken, bad theme) would never be shown again.
	u, password, created, err := a.users.EnsureFirstAdmin(cfg.AdminEmail, "Admin")
	if err != nil {
		ln.Close()
		return fmt.Errorf("create first admin: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "\nFirst start: created the admin account.\n  URL:      %s/login\n  Email:    %s\n  Password: %s\nThis password is shown once; change it under Settings after logging in.\n\n",
			cfg.BaseURL, u.Email, password)
	}
	fmt.Fprintf(stdout, "projblog %s serving on %s (data: %s)\n", version, cfg.BaseURL, a.db.Path())

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	rerendered := make(chan struct{})
	go func() {
		defer close(rerendered)
		rerenderInBackground(ctx, a, log)
	}()
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		checkOverdueEvery(ctx, time.Minute, a, log)
	}()
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		a.notify.Run(ctx, time.Minute, log) // weekly digests, then the outbox
	}()
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		ix.Run(ctx) // builds a new index first, then follows the event log
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "reason", "signal")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-rerendered
	<-scheduled
	<-notified
	<-indexed
	log.Info("stopped")
	return nil
}

// rerenderInBackground brings posts made by an older Markdown renderer up
// to date while the server already serves them (with their old HTML until
// their batch is done).
func rerenderInBackground(ctx context.Context, a *app, log *slog.Logger) {
	behind, err := a.posts.RenderBehind()
	if err != nil {
		log.Error("check renderer version", "err", err)
		return
	}
	if !behind {
		return
	}
	log.Info("rendering posts made by an older renderer, in the background")
	n, err := a.posts.Rerender(ctx, false, nil)
	if err != nil {
		log.Error("rerender posts", "err", err, "done", n)
		return
	}
	log.Info("posts rendered again", "posts", n)
}

// checkOverdueEvery appends an update.overdue event for each project whose
// status update became overdue, once a period, until ctx ends. Delivery of
// the reminder is the notification consumer's job.
func checkOverdueEvery(ctx context.Context, period time.Duration, a *app, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if n, err := a.posts.CheckOverdue(time.Now()); err != nil {
			log.Error("check overdue status updates", "err", err)
		} else if n > 0 {
			log.Info("status updates overdue", "projects", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
