package mailin

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// The SMTP listener (serve --smtp-listen).
//
// A plain SMTP server for the site's mail exchanger to hand messages to
// (github.com/emersion/go-smtp): no authentication and no relaying — it
// takes mail only for the addresses route knows, refusing every other
// recipient at RCPT time with the reason. The message size is announced
// (SIZE) and enforced while it is read; at most MaxRecipients recipients a
// message; a connection idle for SMTPTimeout is closed. Whatever Deliver
// refuses gets its Refusal as the answer to DATA, so the sending server
// bounces it to the sender with our words; a failure of our own is a 451
// the sending server retries. TLS is left to the mail exchanger in front
// (which is where the public MX and its certificates live).

const (
	// MaxRecipients is the most recipients one message may have here.
	MaxRecipients = 50
	// MaxLineBytes is the longest line taken. RFC 5322 allows 998, but
	// mail programs write longer HTML lines, so the listener is lenient.
	MaxLineBytes = 64 << 10
	// SMTPTimeout closes a connection that sends nothing for this long.
	SMTPTimeout = 2 * time.Minute
)

// SMTPServer returns an SMTP server delivering into s; the caller serves
// it on a listener (Serve) and closes it (Close or Shutdown).
func (s *Service) SMTPServer() *smtp.Server {
	srv := smtp.NewServer(&smtpBackend{s: s})
	srv.Domain = s.opts.Domain
	srv.MaxMessageBytes = s.opts.MaxBytes
	srv.MaxRecipients = MaxRecipients
	srv.MaxLineLength = MaxLineBytes
	srv.ReadTimeout = SMTPTimeout
	srv.WriteTimeout = SMTPTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = smtpLog{s}
	return srv
}

// ServeSMTP serves SMTP on ln until the server is closed.
func (s *Service) ServeSMTP(srv *smtp.Server, ln net.Listener) error {
	err := srv.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

type smtpLog struct{ s *Service }

func (l smtpLog) Printf(format string, v ...any) {
	l.s.log.Warn("smtp", "detail", fmt.Sprintf(format, v...))
}
func (l smtpLog) Println(v ...any) { l.s.log.Warn("smtp", "detail", fmt.Sprint(v...)) }

type smtpBackend struct{ s *Service }

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: b.s}, nil
}

// smtpSession is one SMTP conversation: an envelope at a time.
type smtpSession struct {
	s       *Service
	from    string
	targets []*target // routed at RCPT time
}

func (ss *smtpSession) Reset() { ss.from, ss.targets = "", nil }

func (ss *smtpSession) Logout() error { return nil }

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if from == "" {
		from = "<>" // the null sender of bounces and reports
	}
	ss.from, ss.targets = from, nil
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	t, err := ss.s.route(ss.from, to)
	if err != nil {
		return smtpError(err)
	}
	ss.targets = append(ss.targets, t)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	cr := &errReader{r: r}
	_, err := ss.s.deliver(ss.from, ss.targets, cr)
	_, _ = io.Copy(io.Discard, cr) // go-smtp wants the message read before Data returns
	if errors.Is(cr.err, smtp.ErrDataTooLarge) {
		return smtp.ErrDataTooLarge
	}
	if cr.err != nil {
		// A line longer than MaxLineBytes, a broken connection: the
		// message cannot be read, and trying again will not help.
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The message could not be read: " + cr.err.Error()}
	}
	if err != nil {
		return smtpError(err)
	}
	return nil
}

// errReader remembers the error of the reader it reads, so that the
// server's own "too large" is told as such.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// smtpError is the SMTP answer of a refusal.
func smtpError(err error) error {
	r := Answer(err)
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.EnhancedCode(r.Enhanced), Message: r.Message}
}
