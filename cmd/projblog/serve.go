package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"projblog/internal/search"
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
	logw := newLogWriter(stderr, 50*time.Millisecond)
	defer logw.Close()
	var handler slog.Handler = slog.NewTextHandler(logw, nil)
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(logw, nil)
	}
	log := slog.New(handler)

	// Catch the signals before anything is printed: a supervisor that
	// stops the server as soon as it reads "serving on" must get a
	// graceful shutdown, not the default action that kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg.logger = log
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	// The search index is derived data: one that cannot be read is
	// replaced and built again in the background (ix.Run), never a
	// reason not to start.
	var ix *search.Index
	if !cfg.NoSearch {
		if ix, err = openSearch(a, cfg.DataDir, log); err != nil {
			return err
		}
		defer ix.Close()
	}

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
		ProjectAddress:  a.mail.ProjectAddress,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	stopControl, err := serveControl(ctx, cfg.DataDir, a, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopControl()
	// The profiler is up before "serving on" is printed, and a taken
	// address fails the start like a taken --listen.
	if cfg.DebugListen != "" {
		stopDebug, err := serveDebug(cfg.DebugListen, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopDebug()
	}
	if cfg.SMTPListen != "" {
		stopSMTP, err := serveSMTP(cfg.SMTPListen, a, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopSMTP()
	}
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
		if ix != nil {
			ix.Run(ctx) // builds a new index first, then follows the event log
		}
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

// serveSMTP takes inbound mail by SMTP on addr until the returned stop.
func serveSMTP(addr string, a *app, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--smtp-listen %s: %w", addr, err)
	}
	srv := a.mail.SMTPServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.mail.ServeSMTP(srv, ln); err != nil {
			log.Error("smtp listener", "err", err)
		}
	}()
	log.Info("taking mail by SMTP", "addr", ln.Addr().String(), "project_address", a.mail.ProjectAddress("{slug}"))
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
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

// serveDebug serves Go's profiler on its own listener (--debug-listen), so
// that a load run can say what limits a figure instead of guessing.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}

// logWriter buffers the log and writes it out every interval (and when
// the buffer fills, and on Close), so that a busy server does not make
// one write system call per request line: measured, that was an eighth
// of the time of a cached page. A crash loses at most the last interval.
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, every time.Duration) *logWriter {
	l := &logWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.flush()
			case <-l.stop:
				l.flush()
				return
			}
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *logWriter) flush() {
	l.mu.Lock()
	_ = l.w.Flush()
	l.mu.Unlock()
}

// Close writes out what is buffered and stops the flusher.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return nil
}
