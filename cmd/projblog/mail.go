package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/mailin"
)

const mailUsage = `usage: projblog mail deliver [--from ADDR] [--to ADDR]... [--data DIR] [--mail-domain DOMAIN] < message.eml

Delivers one message read from standard input, for a mail server that
pipes mail to a command (Postfix: a pipe(8) transport running
"projblog mail deliver --data DIR --from ${sender} --to ${recipient}" as
the user who owns DIR). A reply to a notice becomes a comment, mail to a
project's address a post, as with serve --smtp-listen. Without --to, the
recipients are the message's Delivered-To, X-Original-To, To and Cc
addresses at the mail domain.

While serve runs, the message goes to it through the control socket of
the data directory (and serve's --mail-domain applies); otherwise the
database is opened here and --mail-domain (env PROJBLOG_MAIL_DOMAIN) must
be given.

Exit codes (sysexits.h, which mail servers read): 0 stored or ignored
(auto-replies), 67 no such address, 65 refused (the reason is printed, and
the mail server returns it to the sender), 75 try again later.
`

// Exit codes of mail deliver (sysexits.h).
const (
	exDataErr  = 65
	exNoUser   = 67
	exTempFail = 75
)

func cmdMail(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) == 0 {
			return usagef("mail needs a sub-command: deliver")
		}
		fmt.Fprint(stdout, mailUsage)
		return nil
	}
	if args[0] != "deliver" {
		return usagef("mail knows one sub-command, deliver (not %q)", args[0])
	}
	cfg := defaults()
	fs := newFlagSet("mail deliver", "mail deliver [--from ADDR] [--to ADDR]... < message.eml", stderr)
	cfg.dataFlag(fs)
	cfg.mailFlags(fs)
	from := fs.String("from", "", "envelope sender `ADDR`ess (the mail server's ${sender})")
	var to strList
	fs.Var(&to, "to", "recipient `ADDR`ess (the mail server's ${recipient}); repeatable")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("mail deliver reads the message from standard input and takes no arguments, got %q", pos)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	// The outcome is the exit code and its line; only trouble is logged.
	cfg.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "from" && *from == "" {
			*from = "<>" // --from '' is the null sender of a bounce
		}
	})
	raw, err := io.ReadAll(io.LimitReader(stdin, mailin.MaxMessageBytes+1))
	if err != nil {
		return exitError{exTempFail, "read the message: " + err.Error()}
	}
	res, err := deliverMail(cfg, *from, to, raw)
	if err != nil {
		return err
	}
	for _, d := range res {
		fmt.Fprintln(stdout, describeDelivery(d))
	}
	return nil
}

// deliverMail delivers raw directly when no server holds the database,
// else through the running server's control socket.
func deliverMail(cfg Config, from string, to []string, raw []byte) ([]mailin.Delivery, error) {
	cfg.DBTimeout = 200 * time.Millisecond
	a, err := open(cfg)
	if err == nil {
		defer a.Close()
		if !a.mail.Enabled() {
			return nil, exitError{exTempFail, "no --mail-domain: this site takes no mail (give --mail-domain or PROJBLOG_MAIL_DOMAIN)"}
		}
		return deliverHere(a.mail, from, to, raw)
	}
	if !apperr.Is(err, apperr.Unavailable) {
		return nil, exitError{exTempFail, cliMessage(err)}
	}
	return deliverThroughServer(cfg.DataDir, from, to, raw)
}

// deliverHere delivers with this process's bridge and turns a refusal into
// the exit code the mail server expects.
func deliverHere(m *mailin.Service, from string, to []string, raw []byte) ([]mailin.Delivery, error) {
	res, refusal := deliverRaw(m, from, to, raw)
	if refusal != nil {
		return res, refusalExit(refusal)
	}
	return res, nil
}

// deliverRaw delivers a message to its recipients — those given, else the
// ones its headers name at the mail domain — here or for the control
// socket, and says why it was refused.
func deliverRaw(m *mailin.Service, from string, to []string, raw []byte) ([]mailin.Delivery, *mailin.Refusal) {
	if len(to) == 0 {
		to = m.OwnRecipients(raw)
	}
	if len(to) == 0 {
		return nil, &mailin.Refusal{Code: 550, Enhanced: [3]int{5, 1, 1}, Message: "The message names no address at this site's mail domain; give --to."}
	}
	res, err := m.Deliver(from, to, bytes.NewReader(raw))
	if err != nil {
		return res, mailin.Answer(err)
	}
	return res, nil
}

// refusalExit is the exit of a refused message: the SMTP answer's text and
// the matching sysexits code.
func refusalExit(r *mailin.Refusal) error {
	code := exDataErr
	switch {
	case r.Code/100 == 4:
		code = exTempFail
	case r.Enhanced[1] == 1:
		code = exNoUser
	}
	return exitError{code, fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Message)}
}

// controlDelivery is the control socket's answer to POST /mail.
type controlDelivery struct {
	Deliveries []mailin.Delivery `json:"deliveries,omitempty"`
	Refusal    *mailin.Refusal   `json:"refusal,omitempty"`
}

// controlDeliver serves POST /mail?from=ADDR&to=ADDR... on the control
// socket: the running server delivers the message in the body.
func controlDeliver(w http.ResponseWriter, r *http.Request, a *app) {
	var out controlDelivery
	raw, err := io.ReadAll(io.LimitReader(r.Body, a.mail.MaxBytes()+1))
	switch {
	case err != nil:
		out.Refusal = mailin.Answer(err)
	case !a.mail.Enabled():
		out.Refusal = &mailin.Refusal{Code: 451, Enhanced: [3]int{4, 3, 5}, Message: "The running server has no --mail-domain: it takes no mail."}
	default:
		q := r.URL.Query()
		out.Deliveries, out.Refusal = deliverRaw(a.mail, q.Get("from"), q["to"], raw)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// deliverThroughServer hands the message to the running server.
func deliverThroughServer(dataDir, from string, to []string, raw []byte) ([]mailin.Delivery, error) {
	client, sock := controlClient(dataDir, 2*time.Minute)
	q := url.Values{"from": {from}, "to": to}
	res, err := client.Post("http://projblog/mail?"+q.Encode(), "message/rfc822", bytes.NewReader(raw))
	if err != nil {
		return nil, exitError{exTempFail, fmt.Sprintf("the database is in use and the running server's control socket %s does not answer: %v", sock, err)}
	}
	defer res.Body.Close()
	var out controlDelivery
	if res.StatusCode != http.StatusOK {
		return nil, exitError{exTempFail, "the running server did not take the message: " + res.Status}
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, exitError{exTempFail, "the running server's answer is unreadable: " + err.Error()}
	}
	if out.Refusal != nil {
		return out.Deliveries, refusalExit(out.Refusal)
	}
	return out.Deliveries, nil
}

// describeDelivery is one line of mail deliver's output.
func describeDelivery(d mailin.Delivery) string {
	switch d.What {
	case "ignored":
		return fmt.Sprintf("%s: ignored (%s)", d.Recipient, d.Reason)
	case "comment":
		return fmt.Sprintf("%s: comment %d under post %d", d.Recipient, d.CommentID, d.PostID)
	}
	return fmt.Sprintf("%s: %s %d", d.Recipient, strings.ReplaceAll(d.What, "_", " "), d.PostID)
}
