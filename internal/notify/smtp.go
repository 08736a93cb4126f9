package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"projblog/internal/apperr"
)

// SMTP delivery. The message's MIME is built by github.com/wneessen/go-mail
// (multipart/alternative, quoted-printable UTF-8 parts, RFC 2047 headers)
// and sent with its SMTP client, one connection per message.

// smtpTimeout bounds connecting to the server and each step of a send.
const smtpTimeout = 30 * time.Second

type smtpMailer struct {
	client *gomail.Client
	from   string
	where  string // the URL without its password, for errors
}

// NewSMTPMailer returns a Mailer that sends through the SMTP server of
// smtpURL, from the address from ("projblog@example.com" or
// "Projblog <projblog@example.com>").
//
//	smtp://[user[:password]@]host[:port]   port 587 by default; STARTTLS when the
//	                                        server offers it, else plain SMTP
//	smtps://[user[:password]@]host[:port]  port 465 by default; TLS from the first byte
//
// User name and password are URL-encoded (p%40ss for p@ss). With a user
// name, the client authenticates with the best mechanism the server
// offers (SCRAM, CRAM-MD5, PLAIN or LOGIN); PLAIN and LOGIN are refused
// over a connection that is neither encrypted nor to localhost, so a
// password never crosses the network in clear. Without TLS the server's
// certificate is not involved; with TLS it must be valid for host.
//
// It returns apperr.Invalid naming what is wrong: the scheme, a missing
// host, a bad port, a password without a user, an unexpected path or
// query, or a sender that is not an address. The error never shows the
// password. The Mailer is safe for concurrent use.
func NewSMTPMailer(smtpURL, from string) (Mailer, error) {
	bad := func(format string, args ...any) error {
		return apperr.New(apperr.Invalid, "SMTP URL: "+format, args...)
	}
	u, err := url.Parse(strings.TrimSpace(smtpURL))
	if err != nil {
		// url.Error repeats the URL, password included: say less.
		return nil, bad("cannot be parsed; expected smtp://user:password@host:port or smtps://...")
	}
	where := u.Redacted()
	var opts []gomail.Option
	port := 0
	switch u.Scheme {
	case "smtp":
		port = 587
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	case "":
		return nil, bad("%q has no scheme; write smtp://host:port (STARTTLS) or smtps://host:port (TLS)", where)
	default:
		return nil, bad("scheme %q in %q is not supported; use smtp:// (STARTTLS) or smtps:// (TLS)", u.Scheme, where)
	}
	host := u.Hostname()
	if host == "" {
		return nil, bad("%q has no host", where)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("port %q in %q is not a number from 1 to 65535", p, where)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, bad("%q has an empty port", where)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("%q has a path %q; only smtp://user:password@host:port is understood", where, u.Path)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("%q has a query or fragment; only smtp://user:password@host:port is understood", where)
	}
	opts = append(opts, gomail.WithPort(port), gomail.WithTimeout(smtpTimeout))
	if u.User != nil {
		user := u.User.Username()
		pass, _ := u.User.Password()
		if user == "" {
			if pass != "" {
				return nil, bad("%q has a password but no user name", where)
			}
		} else {
			opts = append(opts, gomail.WithUsername(user), gomail.WithPassword(pass),
				gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256PLUS, gomail.SMTPAuthSCRAMSHA256,
					gomail.SMTPAuthSCRAMSHA1PLUS, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
					gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
		}
	}
	if err := gomail.NewMsg().From(from); err != nil || strings.TrimSpace(from) == "" {
		return nil, apperr.New(apperr.Invalid, "Sender address %q is not an e-mail address (--mail-from projblog@example.com).", from)
	}
	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, bad("%q: %v", where, err)
	}
	return &smtpMailer{client: c, from: from, where: where}, nil
}

// Send builds m's MIME and hands it to the server. An error means the
// server did not accept the message (or the connection failed before it
// did); once the server has accepted it, a failure to say goodbye is
// ignored, so that the outbox does not send it again.
func (sm *smtpMailer) Send(ctx context.Context, m *Message) error {
	msg, err := sm.build(m)
	if err != nil {
		return err
	}
	c, err := sm.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", sm.where, err)
	}
	if err := sm.client.SendWithSMTPClient(c, msg); err != nil {
		_ = sm.client.CloseWithSMTPClient(c)
		return fmt.Errorf("send to %s via %s: %w", m.To, sm.where, err)
	}
	_ = sm.client.CloseWithSMTPClient(c)
	return nil
}

// headersSetByMailer are the headers Send writes itself; Message.Headers
// may not carry them.
var headersSetByMailer = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true,
}

func (sm *smtpMailer) build(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(sm.from); err != nil {
		return nil, fmt.Errorf("sender %q: %w", sm.from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	date := time.Time{}
	for name, value := range m.Headers {
		if strings.ContainsAny(name, "\r\n: ") || strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("header %q: a line break or a colon has no place here", name)
		}
		switch lower := strings.ToLower(name); {
		case headersSetByMailer[lower]:
			return nil, fmt.Errorf("header %q is set by the mailer, not by the message", name)
		case lower == "message-id":
			msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">"))
		case lower == "date":
			t, err := mailDate(value)
			if err != nil {
				return nil, fmt.Errorf("header Date %q: %w", value, err)
			}
			date = t
		case isASCII(value):
			msg.SetGenHeaderPreformatted(gomail.Header(name), value)
		default:
			msg.SetGenHeader(gomail.Header(name), value) // RFC 2047 encoded
		}
	}
	if msg.GetMessageID() == "" {
		msg.SetMessageID()
	}
	if date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(date)
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	return msg, nil
}

// mailDate parses an RFC 5322 date as ComposeDigest writes it.
func mailDate(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC1123Z, v)
	if err != nil {
		return time.Time{}, errors.New("not an RFC 5322 date")
	}
	return t, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
