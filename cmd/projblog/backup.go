package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// socketName is the control socket `serve` listens on inside the data
// directory, so that admin commands can reach a running server (only the
// user who owns the data directory can connect: the socket is 0600).
const socketName = "projblog.sock"

// serveControl answers the admin commands that must work while the server
// holds the database: GET /backup streams a consistent copy, POST /mail
// delivers a message (projblog mail deliver). It removes a
// stale socket left by a crash, and the socket when ctx ends.
func serveControl(ctx context.Context, dataDir string, a *app, log *slog.Logger) (func(), error) {
	db := a.db
	path := filepath.Join(dataDir, socketName)
	_ = os.Remove(path) // a socket left by a process that died; the database lock says we are alone
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := db.Backup(w); err != nil {
			log.Error("backup over the control socket", "err", err)
		}
	})
	mux.HandleFunc("POST /mail", func(w http.ResponseWriter, r *http.Request) {
		controlDeliver(w, r, a)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		_ = os.Remove(path)
	}, nil
}

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("backup", "backup FILE [--data DIR]", stderr)
	cfg.dataFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("backup needs exactly one FILE to write")
	}
	out := pos[0]
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	n, how, err := backupTo(cfg, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, %s)\n", out, n, how)
	return nil
}

// backupTo writes a consistent copy of the database to w: directly when no
// server holds it, else through the running server's control socket.
func backupTo(cfg Config, w io.Writer) (int64, string, error) {
	cfg.DBTimeout = 200 * time.Millisecond
	db, err := store.Open(cfg.DataDir, store.Options{Timeout: cfg.DBTimeout})
	if err == nil {
		defer db.Close()
		n, err := db.Backup(w)
		return n, "server stopped", err
	}
	if !apperr.Is(err, apperr.Unavailable) {
		return 0, "", err
	}
	client, sock := controlClient(cfg.DataDir, 0)
	res, err := client.Get("http://projblog/backup")
	if err != nil {
		return 0, "", fmt.Errorf("the database is in use and the running server's control socket %s does not answer: %w", sock, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("the running server refused the backup: %s", res.Status)
	}
	n, err := io.Copy(w, res.Body)
	return n, "from the running server", err
}

// controlClient is an HTTP client to the control socket of the server
// running on dataDir (timeout 0: none), and the socket's path for messages.
func controlClient(dataDir string, timeout time.Duration) (*http.Client, string) {
	sock := filepath.Join(dataDir, socketName)
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}, sock
}

func cmdRestore(args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("restore", "restore FILE [--data DIR]", stderr)
	cfg.dataFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("restore needs exactly one backup FILE")
	}
	summary, err := checkBackup(pos[0])
	if err != nil {
		return fmt.Errorf("%s is not a usable backup: %w", pos[0], err)
	}
	// The server must be stopped: holding the lock proves it.
	db, err := store.Open(cfg.DataDir, store.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	current := db.Path()
	db.Close()
	keep := fmt.Sprintf("%s.before-restore-%s", current, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(current, keep); err != nil {
		return fmt.Errorf("keep the current database: %w", err)
	}
	if err := copyFile(pos[0], current); err != nil {
		_ = os.Rename(keep, current)
		return fmt.Errorf("copy the backup in place (the current database is back): %w", err)
	}
	fmt.Fprintf(stdout, "restored %s: %s\nthe previous database is kept as %s\n", pos[0], summary, keep)
	return nil
}

// checkBackup opens a copy of the backup, checks bbolt's consistency and
// the schema version, and says what it holds.
func checkBackup(file string) (string, error) {
	dir, err := os.MkdirTemp("", "projblog-restore-check")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := copyFile(file, filepath.Join(dir, store.FileName)); err != nil {
		return "", err
	}
	b, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return "", fmt.Errorf("not a bbolt database: %w", err)
	}
	var problems []string
	counts := map[string]int{}
	err = b.View(func(tx *bbolt.Tx) error {
		for e := range tx.Check() {
			problems = append(problems, e.Error())
			if len(problems) > 5 {
				break
			}
		}
		for _, name := range []string{"users", "posts.projects", "posts.posts"} {
			if bk := tx.Bucket([]byte(name)); bk != nil {
				counts[name] = bk.Stats().KeyN
			}
		}
		return nil
	})
	b.Close()
	if err != nil {
		return "", err
	}
	if len(problems) > 0 {
		return "", errors.New("corrupt: " + strings.Join(problems, "; "))
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		return "", err // e.g. written by a newer projblog
	}
	db.Close()
	return fmt.Sprintf("%d users, %d projects, %d posts", counts["users"], counts["posts.projects"], counts["posts.posts"]), nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
