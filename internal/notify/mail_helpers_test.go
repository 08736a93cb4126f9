package notify_test

import (
	"bytes"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// Helpers of the mail, outbox, scheduler and unsubscribe tests. Their
// names start with "mail"/"sink" so they do not collide with the helpers
// of the package's other test files.

func init() {
	// Golden files: `go test ./internal/notify/ -update` rewrites them.
	// Registered only once, whichever test file of the package does it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// mailClock is a settable clock, safe for the goroutines of Run.
type mailClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *mailClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *mailClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *mailClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const mailBaseURL = "https://blog.example.com"

// mailEnv is a real database in a temporary directory with the real
// services over it, on a settable clock; reopen closes and opens it again
// as a restarted process would.
type mailEnv struct {
	t      testing.TB
	dir    string
	clock  *mailClock
	mailer notify.Mailer
	db     *store.DB
	users  *users.Service
	posts  *posts.Service
	n      *notify.Service
}

func newMailEnv(t testing.TB, mailer notify.Mailer) *mailEnv {
	t.Helper()
	e := &mailEnv{t: t, dir: t.TempDir(), mailer: mailer,
		clock: &mailClock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}}
	e.open()
	t.Cleanup(func() { e.db.Close() })
	return e
}

func (e *mailEnv) open() {
	e.t.Helper()
	db, err := store.Open(e.dir, store.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	if e.users, err = users.New(db, users.Options{Now: e.clock.Now, BcryptCost: bcrypt.MinCost}); err != nil {
		e.t.Fatal(err)
	}
	// @mentions resolve as cmd/projblog wires them.
	if e.posts, err = posts.New(db, posts.Options{Now: e.clock.Now, Mentions: e.users.ResolveHandles}); err != nil {
		e.t.Fatal(err)
	}
	if e.n, err = notify.New(db, e.posts, e.users, notify.Options{Now: e.clock.Now, BaseURL: mailBaseURL,
		Mailer: e.mailer, From: "projblog@example.com"}); err != nil {
		e.t.Fatal(err)
	}
}

// reopen closes the database and opens it again with new services, as a
// restart does.
func (e *mailEnv) reopen() {
	e.t.Helper()
	e.db.Close()
	e.open()
}

func (e *mailEnv) newUser(email, name, tz, lang string) *users.User {
	e.t.Helper()
	u, err := e.users.Create(users.NewUser{Email: email, Name: name, Password: "correct horse battery",
		TimeZone: tz, Language: lang})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *mailEnv) outbox() []notify.OutboxItem {
	e.t.Helper()
	items, err := e.n.Outbox()
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

// sinkMsg is one message the sink accepted.
type sinkMsg struct {
	From string
	To   []string
	Data []byte
}

// smtpSink is a real SMTP server (github.com/emersion/go-smtp) on a
// loopback port that keeps what it receives. With user set it requires
// AUTH PLAIN with user and pass.
type smtpSink struct {
	t          *testing.T
	addr       string
	user, pass string
	srv        *smtp.Server
	mu         sync.Mutex
	msgs       []sinkMsg
	arrived    chan struct{}
}

func startSink(t *testing.T) *smtpSink {
	t.Helper()
	s := &smtpSink{t: t, addr: "127.0.0.1:0", arrived: make(chan struct{}, 1000)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start listens on s.addr (the same port again after stop).
func (s *smtpSink) start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger a moment after stop
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("sink: listen on %s: %v", s.addr, err)
	}
	s.addr = l.Addr().String()
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback only
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	s.srv = srv
	go srv.Serve(l)
}

func (s *smtpSink) stop() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

func (s *smtpSink) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

func (s *smtpSink) url() string { return "smtp://127.0.0.1:" + s.port() }

func (s *smtpSink) messages() []sinkMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMsg(nil), s.msgs...)
}

// NewSession implements smtp.Backend.
func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink   *smtpSink
	authed bool
	from   string
	to     []string
}

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.sink.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.sink.user || password != ss.sink.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.sink.user != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.mu.Lock()
	ss.sink.msgs = append(ss.sink.msgs, sinkMsg{From: ss.from, To: ss.to, Data: b})
	ss.sink.mu.Unlock()
	ss.sink.arrived <- struct{}{}
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// parsedMail is a received message taken apart with net/mail and
// mime/multipart.
type parsedMail struct {
	Header  mail.Header
	Subject string // decoded
	Type    string // media type of the message
	Parts   map[string]string
}

func parseMail(t *testing.T, data []byte) *parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject %q: %v", m.Header.Get("Subject"), err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	pm := &parsedMail{Header: m.Header, Subject: subj, Type: mt, Parts: map[string]string{}}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(m.Body)
		pm.Parts[mt] = string(b)
		return pm
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		if !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("part %s has charset %q, want UTF-8", pt, pp["charset"])
		}
		b, err := io.ReadAll(p) // quoted-printable is decoded by NextPart
		if err != nil {
			t.Fatal(err)
		}
		pm.Parts[pt] = string(b)
	}
	return pm
}
