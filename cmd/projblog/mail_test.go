package main

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"projblog/internal/posts"
)

// mailSite makes a data directory with Ada owning the private project
// alpha, Bob a member and Carol a viewer.
func mailSite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, u := range [][2]string{{"ada@example.com", "Ada Lovelace"}, {"bob@example.com", "Bob Martin"}, {"carol@example.com", "Carol"}} {
		mustRun(t, "", "user", "add", u[0], "--name", u[1], "--data", dir)
	}
	mustRun(t, "", "project", "add", "alpha", "--name", "Alpha", "--visibility", "private", "--owner", "ada@example.com", "--data", dir)
	a := openDir(t, dir)
	defer a.Close()
	bob, err := a.users.ByEmail("bob@example.com")
	must(t, err)
	must(t, a.posts.SetMember(systemActor, "alpha", bob.ID, "member"))
	carol, err := a.users.ByEmail("carol@example.com")
	must(t, err)
	must(t, a.posts.SetMember(systemActor, "alpha", carol.ID, "viewer"))
	return dir
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// openDir opens a data directory as the commands do.
func openDir(t *testing.T, dir string) *app {
	t.Helper()
	cfg := defaults()
	cfg.DataDir = dir
	must(t, cfg.Validate())
	a, err := open(cfg)
	must(t, err)
	return a
}

// alphaPosts reads the project's posts (the server stopped).
func alphaPosts(t *testing.T, dir string) []*posts.Post {
	t.Helper()
	a := openDir(t, dir)
	defer a.Close()
	_, page, err := a.posts.ProjectPosts(systemActor, "alpha", "", 50)
	must(t, err)
	return page.Posts
}

func mailMessage(from, to, subject, id, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n" + body + "\r\n"
}

func TestMailDeliver(t *testing.T) {
	dir := mailSite(t)
	deliver := func(stdin string, args ...string) result {
		return runCLI(t, stdin, append([]string{"mail", "deliver", "--data", dir, "--mail-domain", "blog.example.com"}, args...)...)
	}
	msg := mailMessage("Ada Lovelace <ada@example.com>", "alpha@blog.example.com", "Kick-off notes", "k1@example.com", "We start on Monday.")
	r := deliver(msg, "--from", "ada@example.com", "--to", "alpha@blog.example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "alpha@blog.example.com: post ") {
		t.Fatalf("deliver: %v", r)
	}
	// Without --to: the message's own headers name the recipient.
	r = deliver(mailMessage("Bob Martin <bob@example.com>", "Team <team@example.com>, alpha@blog.example.com", "Budget", "b1@example.com", "The budget is in."), "--from", "bob@example.com")
	if r.code != 0 {
		t.Fatalf("deliver without --to: %v", r)
	}
	ps := alphaPosts(t, dir)
	if len(ps) != 2 || ps[1].Title != "Kick-off notes" || ps[0].Title != "Budget" {
		t.Fatalf("posts after two deliveries: %d", len(ps))
	}

	// Refusals with the exit codes mail servers read.
	r = deliver(mailMessage("Ada <ada@example.com>", "bob@example.com", "Elsewhere", "e1@x", "Not for us."), "--from", "ada@example.com")
	wantFail(t, r, exNoUser, "names no address at this site's mail domain", "give --to")
	r = deliver(msg, "--from", "ada@example.com", "--to", "nobody@blog.example.com")
	wantFail(t, r, exNoUser, "550 5.1.1", "No such address here")
	r = deliver(mailMessage("Carol <carol@example.com>", "alpha@blog.example.com", "Hi", "c1@x", "Hello."), "--from", "ada@example.com", "--to", "alpha@blog.example.com")
	wantFail(t, r, exDataErr, "550 5.7.1", "Only members")
	r = runCLI(t, msg, "mail", "deliver", "--data", dir, "--to", "alpha@blog.example.com")
	wantFail(t, r, exTempFail, "--mail-domain")
	r = runCLI(t, "", "mail", "send")
	wantFail(t, r, 2, "deliver")
	r = runCLI(t, "", "serve", "--data", dir, "--smtp-listen", "127.0.0.1:0")
	wantFail(t, r, 2, "--smtp-listen needs --mail-domain")
}

func TestServeTakesMail(t *testing.T) {
	dir := mailSite(t)
	smtpPort := freePort(t)
	smtpAddr := "127.0.0.1:" + strconv.Itoa(smtpPort)
	s := startServe(t, dir, "--mail-domain", "blog.example.com", "--smtp-listen", smtpAddr)

	// By SMTP, as the site's mail exchanger hands it over.
	msg := mailMessage("Ada Lovelace <ada@example.com>", "alpha@blog.example.com", "Over SMTP", "s1@example.com", "Sent by SMTP.")
	var err error
	for range 50 { // the listener is up before "serving on"; a retry costs nothing
		if err = smtp.SendMail(smtpAddr, nil, "ada@example.com", []string{"alpha@blog.example.com"}, []byte(msg)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, err)
	err = smtp.SendMail(smtpAddr, nil, "dave@example.net", []string{"alpha@blog.example.com"}, []byte(msg))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 550 || !strings.Contains(te.Msg, "No such address") {
		t.Fatalf("an outsider's mail to a private project: %v", err)
	}

	// Through the control socket while serve holds the database.
	r := runCLI(t, mailMessage("Bob Martin <bob@example.com>", "alpha@blog.example.com", "Through the pipe", "p1@example.com", "Piped."),
		"mail", "deliver", "--data", dir, "--from", "bob@example.com", "--to", "alpha@blog.example.com")
	if r.code != 0 || !strings.Contains(r.stdout, ": post ") {
		t.Fatalf("deliver through the running server: %v", r)
	}
	r = runCLI(t, mailMessage("Bob Martin <bob@example.com>", "x@blog.example.com", "Lost", "p2@example.com", "x"),
		"mail", "deliver", "--data", dir, "--from", "bob@example.com", "--to", "x@blog.example.com")
	wantFail(t, r, exNoUser, "No such address here")
	s.stop()

	var titles []string
	for _, p := range alphaPosts(t, dir) {
		titles = append(titles, p.Title)
	}
	if strings.Join(titles, "|") != "Through the pipe|Over SMTP" {
		t.Fatalf("posts %q", titles)
	}
}
