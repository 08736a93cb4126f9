package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"
)

// cmdReindex builds the search index again from the database, with a
// progress bar. The server must be stopped (the database is its alone);
// serve also rebuilds by itself an index that is missing or broken.
func cmdReindex(args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("reindex", "reindex [--data DIR]", stderr)
	cfg.dataFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("reindex takes no arguments, got %q", pos)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ix, err := openSearch(a, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer ix.Close()

	// Ctrl-C stops between batches; the index is then without a cursor
	// and the next serve or reindex builds it again.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	report, finish := reporter(stderr, "indexing posts")
	indexed := 0
	err = ix.Rebuild(ctx, func(done, total int) {
		indexed = done
		report(done, total)
	})
	finish()
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	fmt.Fprintf(stdout, "search index rebuilt: %d posts with their comments in %s (%s)\n",
		indexed, time.Since(start).Round(time.Millisecond), searchDir(cfg.DataDir))
	return nil
}
