package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"projblog/internal/apperr"
	"projblog/internal/notify"
)

func TestNewSMTPMailerErrors(t *testing.T) {
	cases := []struct {
		name, url, from, want string
	}{
		{"Empty", "", "a@example.com", "no scheme"},
		{"NoScheme", "mail.example.com:587", "a@example.com", "scheme"},
		{"WrongScheme", "http://mail.example.com", "a@example.com", `scheme "http"`},
		{"NoHost", "smtp://", "a@example.com", "no host"},
		{"PortZero", "smtp://mail.example.com:0", "a@example.com", "port"},
		{"PortTooBig", "smtp://mail.example.com:70000", "a@example.com", "port"},
		{"PortNotNumber", "smtp://mail.example.com:smtp", "a@example.com", ""},
		{"EmptyPort", "smtp://mail.example.com:", "a@example.com", "empty port"},
		{"PasswordWithoutUser", "smtp://:s3cret@mail.example.com", "a@example.com", "no user name"},
		{"Path", "smtp://mail.example.com/inbox", "a@example.com", "path"},
		{"Query", "smtp://mail.example.com?tls=no", "a@example.com", "query"},
		{"BadFrom", "smtp://mail.example.com", "not an address", "Sender address"},
		{"EmptyFrom", "smtp://mail.example.com", "", "Sender address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := notify.NewSMTPMailer(c.url, c.from)
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("NewSMTPMailer(%q, %q) = %v, %v; want Invalid", c.url, c.from, m, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	for _, ok := range []string{"smtp://mail.example.com", "smtps://u:p%40ss@mail.example.com:465", "smtp://u@[::1]:2525/"} {
		if _, err := notify.NewSMTPMailer(ok, "Projblog <projblog@example.com>"); err != nil {
			t.Errorf("NewSMTPMailer(%q): %v", ok, err)
		}
	}
}

// TestSMTPDigest sends composed digests through a real SMTP server and
// takes the received bytes apart.
func TestSMTPDigest(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "Projblog <projblog@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	e.clock.Set(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC))
	ctx := context.Background()

	en, err := e.n.ComposeDigest(fakeDigest(t, "en", "America/Toronto"))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := e.n.ComposeDigest(fakeDigest(t, "fr", "Europe/Paris"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*notify.Message{en, fr} {
		if err := mailer.Send(ctx, m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	got := sink.messages()
	if len(got) != 2 {
		t.Fatalf("sink received %d messages, want 2", len(got))
	}

	t.Run("Envelope", func(t *testing.T) {
		if got[0].From != "projblog@example.com" || len(got[0].To) != 1 || got[0].To[0] != "ada@example.com" {
			t.Errorf("envelope from %q to %v", got[0].From, got[0].To)
		}
	})

	t.Run("English", func(t *testing.T) {
		pm := parseMail(t, got[0].Data)
		if pm.Type != "multipart/alternative" {
			t.Fatalf("Content-Type %s, want multipart/alternative", pm.Type)
		}
		if len(pm.Parts) != 2 || pm.Parts["text/plain"] == "" || pm.Parts["text/html"] == "" {
			t.Fatalf("parts %v, want text/plain and text/html", keys(pm.Parts))
		}
		if pm.Subject != en.Subject || !strings.HasPrefix(pm.Subject, "Your weekly digest: 3 projects, 1 at risk") {
			t.Errorf("Subject %q", pm.Subject)
		}
		h := pm.Header
		checks := map[string]string{
			"Message-Id":            "<digest.7.2026-W48@blog.example.com>",
			"List-Id":               "<digest.blog.example.com>",
			"List-Unsubscribe":      "<" + e.n.UnsubscribeURL(7) + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted":        "auto-generated",
			"Precedence":            "bulk",
			"To":                    "<ada@example.com>",
			"From":                  `"Projblog" <projblog@example.com>`,
		}
		for k, want := range checks {
			if v := h.Get(k); v != want {
				t.Errorf("%s: %q, want %q", k, v, want)
			}
		}
		if d, err := h.Date(); err != nil || !d.Equal(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)) {
			t.Errorf("Date %v, %v", d, err)
		}
		if !strings.HasPrefix(e.n.UnsubscribeURL(7), "https://blog.example.com/unsubscribe/") {
			t.Errorf("unsubscribe URL %q", e.n.UnsubscribeURL(7))
		}
		if strings.ReplaceAll(pm.Parts["text/plain"], "\r\n", "\n") != en.Text { // CRLF on the wire
			t.Errorf("text part changed on the way:\n%q\nwant\n%q", pm.Parts["text/plain"], en.Text)
		}
		doc, err := html.Parse(strings.NewReader(pm.Parts["text/html"]))
		if err != nil {
			t.Fatal(err)
		}
		links := attrs(doc, "a", "href")
		if !contains(links, "https://blog.example.com/p/apollo/launch-moved") {
			t.Errorf("no absolute post link in %v", links)
		}
		for _, l := range links {
			if !strings.HasPrefix(l, "https://blog.example.com/") {
				t.Errorf("relative or foreign link %q", l)
			}
		}
	})

	t.Run("French", func(t *testing.T) {
		pm := parseMail(t, got[1].Data)
		if want := "Votre résumé de la semaine : 3 projets, 1 à risque, 1 bilan en retard, 1 en attente de vous (2026-W48)"; pm.Subject != want {
			t.Errorf("Subject %q, want %q", pm.Subject, want)
		}
		if !strings.Contains(pm.Parts["text/plain"], "Bonjour Ada Lovelace,") || !strings.Contains(pm.Parts["text/html"], "À surveiller") {
			t.Errorf("French parts are not French:\n%s", pm.Parts["text/plain"])
		}
		doc, err := html.Parse(strings.NewReader(pm.Parts["text/html"]))
		if err != nil {
			t.Fatal(err)
		}
		if l := attrs(doc, "html", "lang"); len(l) != 1 || l[0] != "fr" {
			t.Errorf("lang %v", l)
		}
	})
}

// TestSMTPConcurrentSends: one Mailer used by several goroutines.
func TestSMTPConcurrentSends(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mailer.Send(context.Background(), testMessage(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ids := messageIDs(t, sink.messages()); len(ids) != 8 {
		t.Errorf("received %v", ids)
	}
}

func TestSMTPAuth(t *testing.T) {
	sink := startSink(t)
	sink.user, sink.pass = "projblog", "p@ss word"
	m := &notify.Message{To: "ada@example.com", Subject: "Hello", Text: "Hi.", HTML: "<p>Hi.</p>"}

	t.Run("OK", func(t *testing.T) {
		mailer, err := notify.NewSMTPMailer("smtp://projblog:p%40ss%20word@127.0.0.1:"+sink.port(), "projblog@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := mailer.Send(context.Background(), m); err != nil {
			t.Fatalf("send with the right password: %v", err)
		}
		if n := len(sink.messages()); n != 1 {
			t.Fatalf("%d messages", n)
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		mailer, err := notify.NewSMTPMailer("smtp://projblog:nope@127.0.0.1:"+sink.port(), "projblog@example.com")
		if err != nil {
			t.Fatal(err)
		}
		err = mailer.Send(context.Background(), m)
		if err == nil {
			t.Fatal("sent with a wrong password")
		}
		if strings.Contains(err.Error(), "nope") {
			t.Errorf("error shows the password: %v", err)
		}
		if n := len(sink.messages()); n != 1 {
			t.Errorf("%d messages", n)
		}
	})
	t.Run("ErrNoAuth", func(t *testing.T) {
		mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := mailer.Send(context.Background(), m); err == nil {
			t.Fatal("sent without authenticating to a server that requires it")
		}
	})
}

// TestSMTPStartTLS: a server that offers STARTTLS gets it. The test
// server's certificate is self-signed, so the upgrade fails on its
// verification, which shows that the client tried TLS instead of
// sending in clear.
func TestSMTPStartTLS(t *testing.T) {
	sink := startSink(t)
	sink.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = mailer.Send(context.Background(), &notify.Message{To: "ada@example.com", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("send: %v, want a certificate error from STARTTLS", err)
	}
	if n := len(sink.messages()); n != 0 {
		t.Errorf("%d messages went out in clear", n)
	}
}

func TestSMTPServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	mailer, err := notify.NewSMTPMailer("smtp://"+addr, "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = mailer.Send(context.Background(), &notify.Message{To: "ada@example.com", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("send to a closed port: %v, want an error naming %s", err, addr)
	}
}

func TestSMTPHeaderChecks(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]map[string]string{
		"Injection":    {"X-Note": "a\r\nBcc: eve@example.com"},
		"MailerHeader": {"Subject": "other"},
		"BadDate":      {"Date": "yesterday"},
	} {
		t.Run(name, func(t *testing.T) {
			err := mailer.Send(context.Background(), &notify.Message{To: "ada@example.com", Subject: "x", Text: "x", Headers: h})
			if err == nil {
				t.Fatalf("headers %q accepted", h)
			}
		})
	}
	if n := len(sink.messages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
	// A header with non-ASCII text is encoded (RFC 2047).
	if err := mailer.Send(context.Background(), &notify.Message{To: "ada@example.com", Subject: "Résumé", Text: "x",
		Headers: map[string]string{"X-Project": "Été"}}); err != nil {
		t.Fatal(err)
	}
	pm := parseMail(t, sink.messages()[0].Data)
	if pm.Subject != "Résumé" || pm.Type != "text/plain" {
		t.Errorf("subject %q, type %s", pm.Subject, pm.Type)
	}
	if pm.Header.Get("Message-Id") == "" || pm.Header.Get("Date") == "" {
		t.Error("no Message-ID or Date by default")
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
