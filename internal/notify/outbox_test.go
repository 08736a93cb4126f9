package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/notify"
)

// mailerFunc is a Mailer made of a function: for failures that a real
// server cannot be made to produce on cue.
type mailerFunc func(ctx context.Context, m *notify.Message) error

func (f mailerFunc) Send(ctx context.Context, m *notify.Message) error { return f(ctx, m) }

func testMessage(i int) *notify.Message {
	return &notify.Message{
		To: fmt.Sprintf("user%d@example.com", i), Subject: fmt.Sprintf("Message %d", i),
		Text: "Hello.", HTML: "<p>Hello.</p>",
		Headers: map[string]string{"Message-ID": fmt.Sprintf("<test.%d@example.com>", i)},
	}
}

// messageIDs counts the received messages by Message-ID.
func messageIDs(t *testing.T, msgs []sinkMsg) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range msgs {
		pm, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		out[pm.Header.Get("Message-Id")]++
	}
	return out
}

func TestRetryDelay(t *testing.T) {
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60}
	for i, w := range want {
		if got := notify.RetryDelay(i + 1); got != w*time.Minute {
			t.Errorf("RetryDelay(%d) = %v, want %v", i+1, got, w*time.Minute)
		}
	}
	if notify.RetryDelay(1000) != time.Hour || notify.RetryDelay(0) != time.Minute {
		t.Error("RetryDelay out of range")
	}
}

func TestEnqueue(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)

	t.Run("Idempotent", func(t *testing.T) {
		for i, want := range []bool{true, false, false} {
			added, err := e.n.Enqueue("digest/1/2026-W48", testMessage(1))
			if err != nil || added != want {
				t.Fatalf("enqueue #%d: %v, %v; want %v", i+1, added, err, want)
			}
		}
		if added, err := e.n.Enqueue("digest/2/2026-W48", testMessage(2)); err != nil || !added {
			t.Fatalf("another key: %v, %v", added, err)
		}
		if n := len(e.outbox()); n != 2 {
			t.Fatalf("outbox has %d messages, want 2", n)
		}
		sent, failed, err := e.n.DeliverDue(context.Background())
		if sent != 2 || failed != 0 || err != nil {
			t.Fatalf("DeliverDue = %d, %d, %v", sent, failed, err)
		}
		// Sent keys are remembered, also after a restart.
		e.reopen()
		if added, err := e.n.Enqueue("digest/1/2026-W48", testMessage(1)); err != nil || added {
			t.Fatalf("enqueue of a sent key after reopen: %v, %v", added, err)
		}
		if ok, err := e.n.Enqueued("digest/1/2026-W48"); !ok || err != nil {
			t.Errorf("Enqueued = %v, %v", ok, err)
		}
		if n := len(e.outbox()); n != 0 {
			t.Errorf("outbox has %d messages after sending", n)
		}
		if n := len(sink.messages()); n != 2 {
			t.Errorf("sink has %d messages, want 2", n)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for name, c := range map[string]struct {
			key string
			m   *notify.Message
		}{
			"EmptyKey":    {"", testMessage(1)},
			"LongKey":     {strings.Repeat("k", 513), testMessage(1)},
			"NilMessage":  {"k", nil},
			"NoRecipient": {"k", &notify.Message{Subject: "x"}},
		} {
			if _, err := e.n.Enqueue(c.key, c.m); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s: %v, want Invalid", name, err)
			}
		}
	})
}

// TestDeliverBackoff follows one message through every retry to failed,
// on a fixed clock, and back with Retry.
func TestDeliverBackoff(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	mailer := mailerFunc(func(ctx context.Context, m *notify.Message) error {
		calls.Add(1)
		if down.Load() {
			return errors.New("451 4.3.0 try again later")
		}
		return nil
	})
	e := newMailEnv(t, mailer)
	t0 := e.clock.Now()
	ctx := context.Background()
	if _, err := e.n.Enqueue("k", testMessage(1)); err != nil {
		t.Fatal(err)
	}

	next := t0
	for attempt := 1; attempt <= notify.MaxAttempts; attempt++ {
		e.clock.Set(next)
		sent, failed, err := e.n.DeliverDue(ctx)
		if sent != 0 || failed != 1 || err != nil {
			t.Fatalf("attempt %d: DeliverDue = %d, %d, %v; want 0, 1, nil", attempt, sent, failed, err)
		}
		items := e.outbox()
		if len(items) != 1 {
			t.Fatalf("attempt %d: outbox %v", attempt, items)
		}
		it := items[0]
		if it.Attempts != attempt || !strings.Contains(it.LastError, "try again later") || it.Key != "k" ||
			it.To != "user1@example.com" || it.Subject != "Message 1" || !it.CreatedAt.Equal(t0) {
			t.Fatalf("attempt %d: item %+v", attempt, it)
		}
		if attempt < notify.MaxAttempts {
			if it.Failed {
				t.Fatalf("failed after %d attempts", attempt)
			}
			want := next.Add(notify.RetryDelay(attempt))
			if !it.NextAt.Equal(want) {
				t.Fatalf("attempt %d: next at %v, want %v", attempt, it.NextAt, want)
			}
			// Not due a second before.
			e.clock.Set(want.Add(-time.Second))
			if _, failed, _ := e.n.DeliverDue(ctx); failed != 0 {
				t.Fatalf("attempt %d: retried before its time", attempt)
			}
			next = want
		} else if !it.Failed {
			t.Fatalf("not failed after %d attempts: %+v", attempt, it)
		}
	}
	if n := calls.Load(); n != notify.MaxAttempts {
		t.Fatalf("%d sends, want %d", n, notify.MaxAttempts)
	}
	// A failed message is kept, listed, and not tried again by itself.
	down.Store(false)
	e.clock.Set(next.Add(24 * time.Hour))
	if sent, failed, err := e.n.DeliverDue(ctx); sent+failed != 0 || err != nil {
		t.Fatalf("failed message tried again: %d, %d, %v", sent, failed, err)
	}
	if items := e.outbox(); len(items) != 1 || !items[0].Failed {
		t.Fatalf("outbox %+v", items)
	}
	e.reopen()
	if items := e.outbox(); len(items) != 1 || !items[0].Failed {
		t.Fatalf("after reopen: outbox %+v", items)
	}

	// Retry sends it again.
	if err := e.n.Retry("nope"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Retry of an unknown key: %v", err)
	}
	if err := e.n.Retry("k"); err != nil {
		t.Fatal(err)
	}
	if it := e.outbox()[0]; it.Failed || it.Attempts != 0 {
		t.Errorf("after Retry: %+v", it)
	}
	if sent, failed, err := e.n.DeliverDue(ctx); sent != 1 || failed != 0 || err != nil {
		t.Fatalf("after Retry: DeliverDue = %d, %d, %v", sent, failed, err)
	}
	if n := len(e.outbox()); n != 0 {
		t.Errorf("outbox has %d after sending", n)
	}
	if err := e.n.Retry("k"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Retry of a sent key: %v", err)
	}
}

// TestDeliverSMTPDownThenUp stops the real SMTP server, lets deliveries
// fail, starts it again on the same port: every message arrives once.
func TestDeliverSMTPDownThenUp(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	ctx := context.Background()
	sink.stop()

	const n = 5
	for i := 1; i <= n; i++ {
		if _, err := e.n.Enqueue(fmt.Sprintf("m/%d", i), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	sent, failed, err := e.n.DeliverDue(ctx)
	if sent != 0 || failed != n || err != nil {
		t.Fatalf("server down: DeliverDue = %d, %d, %v", sent, failed, err)
	}
	for _, it := range e.outbox() {
		if it.Attempts != 1 || it.Failed || !strings.Contains(it.LastError, "connect") {
			t.Errorf("after one failure: %+v", it)
		}
	}
	// A second failure while still down.
	e.clock.Advance(time.Minute)
	if sent, failed, _ := e.n.DeliverDue(ctx); sent != 0 || failed != n {
		t.Fatalf("still down: %d sent, %d failed", sent, failed)
	}

	sink.start()
	e.clock.Advance(time.Minute) // the next attempt is 2 minutes after the last
	if sent, failed, _ := e.n.DeliverDue(ctx); sent != 0 || failed != 0 {
		t.Fatalf("before the retry time: %d sent, %d failed", sent, failed)
	}
	e.clock.Advance(time.Minute)
	sent, failed, err = e.n.DeliverDue(ctx)
	if sent != n || failed != 0 || err != nil {
		t.Fatalf("server up: DeliverDue = %d, %d, %v", sent, failed, err)
	}
	e.clock.Advance(time.Hour)
	if sent, failed, _ := e.n.DeliverDue(ctx); sent+failed != 0 {
		t.Fatalf("sent again: %d, %d", sent, failed)
	}
	e.reopen()
	if sent, failed, _ := e.n.DeliverDue(ctx); sent+failed != 0 {
		t.Fatalf("sent again after reopen: %d, %d", sent, failed)
	}
	ids := messageIDs(t, sink.messages())
	for i := 1; i <= n; i++ {
		if c := ids[fmt.Sprintf("<test.%d@example.com>", i)]; c != 1 {
			t.Errorf("message %d arrived %d times", i, c)
		}
	}
	if len(ids) != n {
		t.Errorf("received %v", ids)
	}
}

// TestDeliverCrashAfterSend simulates a crash between the server's
// acceptance of a message and the record of it: the mailer sends the
// second message and then closes the database under DeliverDue, as a dying
// process would leave it. After the restart nothing is lost, and the one
// message that was in flight arrives twice: the documented worst case.
func TestDeliverCrashAfterSend(t *testing.T) {
	sink := startSink(t)
	smtpMailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var e *mailEnv
	var sends atomic.Int32
	crashing := mailerFunc(func(ctx context.Context, m *notify.Message) error {
		if err := smtpMailer.Send(ctx, m); err != nil {
			return err
		}
		if sends.Add(1) == 2 {
			e.db.Close() // "crash": the send is done, its record cannot be written
		}
		return nil
	})
	e = newMailEnv(t, crashing)
	for i := 1; i <= 3; i++ {
		if _, err := e.n.Enqueue(fmt.Sprintf("m/%d", i), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	sent, _, err := e.n.DeliverDue(context.Background())
	if err == nil || sent != 1 {
		t.Fatalf("crashing run: sent %d, err %v; want 1 and an error", sent, err)
	}

	e.mailer = smtpMailer
	e.reopen()
	items := e.outbox()
	if len(items) != 2 || items[0].Key != "m/2" || items[1].Key != "m/3" {
		t.Fatalf("after the crash the outbox holds %+v, want m/2 (in flight) and m/3", items)
	}
	sent, failed, err := e.n.DeliverDue(context.Background())
	if sent != 2 || failed != 0 || err != nil {
		t.Fatalf("after restart: DeliverDue = %d, %d, %v", sent, failed, err)
	}
	ids := messageIDs(t, sink.messages())
	want := map[string]int{"<test.1@example.com>": 1, "<test.2@example.com>": 2, "<test.3@example.com>": 1}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("received %v, want %v (m/2 once more, nothing lost)", ids, want)
	}
}

func TestDeliverConcurrent(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	const n = 12
	for i := 1; i <= n; i++ {
		if _, err := e.n.Enqueue(fmt.Sprintf("m/%d", i), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var total atomic.Int32
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent, _, err := e.n.DeliverDue(context.Background())
			if err != nil {
				t.Error(err)
			}
			total.Add(int32(sent))
		}()
	}
	wg.Wait()
	if total.Load() != n || len(sink.messages()) != n {
		t.Errorf("sent %d, received %d, want %d each", total.Load(), len(sink.messages()), n)
	}
}

func TestDeliverNoMailer(t *testing.T) {
	e := newMailEnv(t, nil)
	if _, err := e.n.Enqueue("k", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	if sent, failed, err := e.n.DeliverDue(context.Background()); sent+failed != 0 || err != nil {
		t.Fatalf("DeliverDue without a mailer = %d, %d, %v", sent, failed, err)
	}
	if items := e.outbox(); len(items) != 1 || items[0].Attempts != 0 {
		t.Fatalf("outbox %+v", items)
	}
}

// TestDeliverCanceled: a send cut short by shutdown is not an attempt.
func TestDeliverCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	mailer := mailerFunc(func(ctx context.Context, m *notify.Message) error {
		cancel()
		return ctx.Err()
	})
	e := newMailEnv(t, mailer)
	for i := 1; i <= 2; i++ {
		if _, err := e.n.Enqueue(fmt.Sprintf("m/%d", i), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.n.DeliverDue(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeliverDue = %v, want context.Canceled", err)
	}
	for _, it := range e.outbox() {
		if it.Attempts != 0 || it.LastError != "" {
			t.Errorf("canceled send counted: %+v", it)
		}
	}
}
