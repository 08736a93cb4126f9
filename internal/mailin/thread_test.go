package mailin

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tm is a message for threading tests: id, hours after threadT0 (-1: no
// date), subject, and its In-Reply-To and References as "irt:a" and
// "refs:a b" words.
func tm(id string, hours int, subject string, headers ...string) *Message {
	m := &Message{MessageID: id, Subject: subject, From: Address{Email: "x@example.com"}, Body: "text of " + id}
	if hours >= 0 {
		m.Date = threadT0.Add(time.Duration(hours) * time.Hour)
	}
	for _, h := range headers {
		kind, ids, _ := strings.Cut(h, ":")
		switch kind {
		case "irt":
			m.InReplyTo = strings.Fields(ids)
		case "refs":
			m.References = strings.Fields(ids)
		default:
			panic("bad header " + h)
		}
	}
	return m
}

var threadT0 = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

// threadsString writes threads as "[a b<a c<b] [d]": each thread's
// messages in order, each followed by "<" and the id of what it answers.
func threadsString(t *testing.T, ths []*Thread) string {
	t.Helper()
	var out []string
	for _, th := range ths {
		if len(th.Messages) != len(th.ReplyTo) {
			t.Fatalf("thread has %d messages and %d ReplyTo", len(th.Messages), len(th.ReplyTo))
		}
		var parts []string
		for i, m := range th.Messages {
			name := m.MessageID
			if name == "" {
				name = "(" + m.Subject + ")"
			}
			p := th.ReplyTo[i]
			switch {
			case i == 0 && p != -1:
				t.Errorf("root %s answers %d", name, p)
			case i > 0 && (p < 0 || p >= i):
				t.Errorf("%s (index %d) answers index %d: not an earlier message", name, i, p)
			}
			if p >= 0 && p < i {
				q := th.Messages[p].MessageID
				if q == "" {
					q = "(" + th.Messages[p].Subject + ")"
				}
				name += "<" + q
			}
			parts = append(parts, name)
		}
		out = append(out, "["+strings.Join(parts, " ")+"]")
	}
	return strings.Join(out, " ")
}

func TestThreads(t *testing.T) {
	t.Parallel()
	day := 24
	for _, tc := range []struct {
		name string
		msgs []*Message
		want string
	}{
		{"InReplyTo", []*Message{
			tm("a", 0, "Plan"), tm("b", 1, "Re: Plan", "irt:a"), tm("c", 2, "Re: Plan", "irt:b"),
		}, "[a b<a c<b]"},
		{"ReferencesOnly", []*Message{
			tm("a", 0, "Plan"), tm("b", 1, "Re: Plan", "refs:a"), tm("c", 2, "Re: Plan", "refs:a b"),
		}, "[a b<a c<b]"},
		{"LastKnownReferenceWins", []*Message{
			// x is not in the archive: the last reference that is wins.
			tm("a", 0, "Plan"), tm("b", 1, "Re: Plan", "refs:a"), tm("c", 2, "Re: Plan", "refs:a b x"),
		}, "[a b<a c<b]"},
		{"InReplyToBeforeReferences", []*Message{
			tm("a", 0, "Plan"), tm("b", 1, "Re: Plan", "irt:a"), tm("c", 2, "Re: Plan", "irt:a", "refs:a b"),
		}, "[a b<a c<a]"},
		{"UnknownInReplyToFallsBackToReferences", []*Message{
			tm("a", 0, "Plan"), tm("c", 2, "Re: Plan", "irt:gone", "refs:a gone"),
		}, "[a c<a]"},
		{"MissingParent", []*Message{
			// The root is not in the archive: its first reply roots the
			// thread, and the others still find their parents.
			tm("b", 1, "Re: Plan", "irt:a", "refs:a"), tm("c", 2, "Re: Plan", "irt:b", "refs:a b"),
		}, "[b c<b]"},
		{"MissingMiddle", []*Message{
			// c answers b, which the archive lacks; its References still
			// name a.
			tm("a", 0, "Plan"), tm("c", 2, "Re: Plan", "irt:b", "refs:a b"),
		}, "[a c<a]"},
		{"InterleavedThreadsByRootDate", []*Message{
			tm("b1", 1, "Budget"), tm("a1", 0, "Plan"), tm("b2", 3, "Re: Budget", "irt:b1"),
			tm("a2", 2, "Re: Plan", "irt:a1"), tm("c1", 4, "Lunch"), tm("a3", 5, "Re: Plan", "irt:a2"),
		}, "[a1 a2<a1 a3<a2] [b1 b2<b1] [c1]"},
		{"SortedByDate", []*Message{
			tm("a", 0, "Plan"), tm("c", 5, "Re: Plan", "irt:a"), tm("b", 1, "Re: Plan", "irt:a"),
		}, "[a b<a c<a]"},
		{"ReplyDatedBeforeItsParent", []*Message{
			// c's clock is wrong: it still comes after b, which it answers.
			tm("a", 2, "Plan"), tm("b", 4, "Re: Plan", "irt:a"), tm("c", 3, "Re: Plan", "irt:b"), tm("d", 5, "Re: Plan", "irt:a"),
		}, "[a b<a c<b d<a]"},
		{"RootDatedAfterReply", []*Message{
			tm("a", 6, "Plan"), tm("b", 1, "Re: Plan", "irt:a"),
		}, "[a b<a]"},
		{"UndatedKeepArchiveOrder", []*Message{
			tm("a", 0, "Plan"), tm("b", 3, "Re: Plan", "irt:a"), tm("u", -1, "Re: Plan", "irt:a"), tm("c", 4, "Re: Plan", "irt:a"),
		}, "[a b<a u<a c<a]"},
		{"SubjectFallback", []*Message{
			tm("a", 0, "Launch plan"), tm("b", 1, "Re: Launch plan"),
		}, "[a b<a]"},
		{"SubjectFallbackJoinsTheRoot", []*Message{
			tm("a", 0, "Launch plan"), tm("b", 1, "Re: Launch plan", "irt:a"), tm("c", 2, "RE : launch  plan"),
		}, "[a b<a c<a]"},
		{"SubjectFallbackListTag", []*Message{
			tm("a", 0, "[team] Launch plan"), tm("b", 1, "[team] Re: Launch plan"), tm("c", 2, "AW: Launch plan"),
		}, "[a b<a c<a]"},
		{"SubjectFallbackNeedsAReplyPrefix", []*Message{
			tm("a", 0, "Weekly status"), tm("b", 24*7, "Weekly status"), tm("c", 24*7+1, "Re: Weekly status"),
		}, "[a] [b c<b]"},
		{"ForwardIsNotAReply", []*Message{
			tm("a", 0, "Launch plan"), tm("b", 1, "Fwd: Launch plan"),
		}, "[a] [b]"},
		{"SubjectFallbackWindow", []*Message{
			tm("a", 0, "Plan"), tm("b", 61*day, "Re: Plan"),
		}, "[a] [b]"},
		{"SubjectFallbackWindowFromLatest", []*Message{
			tm("a", 0, "Plan"), tm("b", 50*day, "Re: Plan", "irt:a"), tm("c", 100*day, "Re: Plan"),
		}, "[a b<a c<a]"},
		{"SubjectFallbackBetweenOrphans", []*Message{
			// The thread's first message is not in the archive: replies
			// without headers still gather under the first reply.
			tm("b", 1, "Re: Plan", "irt:gone"), tm("c", 2, "Re: Plan"),
		}, "[b c<b]"},
		{"SubjectFallbackOnlyToEarlier", []*Message{
			tm("b", 1, "Re: Plan"), tm("a", 2, "Plan"),
		}, "[b] [a]"},
		{"DuplicateMessageID", []*Message{
			tm("a", 0, "Plan"), tm("b", 1, "Re: Plan", "irt:a"), tm("a", 0, "Plan"), tm("b", 1, "Re: Plan", "irt:a"),
		}, "[a b<a]"},
		{"DuplicateWithoutID", []*Message{
			tm("", 0, "Plan"), tm("", 0, "Plan"), tm("b", 1, "Other"),
		}, "[(Plan)] [b]"},
		{"CycleOfTwo", []*Message{
			tm("a", 0, "Plan", "irt:b"), tm("b", 1, "Re: Plan", "irt:a"),
		}, "[b a<b]"},
		{"CycleOfThree", []*Message{
			tm("a", 0, "x", "refs:c"), tm("b", 1, "y", "refs:a"), tm("c", 2, "z", "refs:b"),
		}, "[c a<c b<a]"},
		{"SelfReference", []*Message{
			tm("a", 0, "Plan", "irt:a", "refs:a"),
		}, "[a]"},
		{"CycleInReferencesChain", []*Message{
			tm("a", 0, "Plan", "refs:c b"), tm("b", 1, "Re: Plan", "refs:a c"), tm("c", 2, "Re: Plan", "refs:b a"),
		}, "[c b<c a<b]"},
		{"Nil", []*Message{nil, tm("a", 0, "Plan"), nil}, "[a]"},
		{"Empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := threadsString(t, Threads(tc.msgs)); got != tc.want {
				t.Errorf("threads = %s\nwant      %s", got, tc.want)
			}
		})
	}
}

// TestThreadsLongCycleEnds threads a long chain whose first message
// names the last: it must end, and keep every message once.
func TestThreadsLongCycleEnds(t *testing.T) {
	t.Parallel()
	const n = 2000
	var msgs []*Message
	for i := range n {
		prev := "m" + strconv.Itoa((i+n-1)%n)
		msgs = append(msgs, tm("m"+strconv.Itoa(i), i, "Re: loop", "irt:"+prev, "refs:"+prev+" m"+strconv.Itoa((i+1)%n)))
	}
	ths := Threads(msgs)
	total := 0
	for _, th := range ths {
		total += len(th.Messages)
	}
	if total != n || len(ths) != 1 {
		t.Fatalf("%d threads holding %d messages, want 1 holding %d", len(ths), total, n)
	}
	// The last message closes the loop: it roots the thread, and m0 answers it.
	if th := ths[0]; th.Messages[0].MessageID != "m1999" || th.Messages[1].MessageID != "m0" || th.ReplyTo[1] != 0 {
		t.Errorf("root %s, then %s answering %d", th.Messages[0].MessageID, th.Messages[1].MessageID, th.ReplyTo[1])
	}
}

func sha256Prefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:32]
}

func TestMessageKey(t *testing.T) {
	t.Parallel()
	m := &Message{MessageID: "abc@example.com"}
	if got := MessageKey(m); got != "mail:abc@example.com" {
		t.Errorf("MessageKey = %q", got)
	}
	a := &Message{From: Address{Email: "ann@example.com"}, Date: threadT0, Subject: "Plan", Body: "text"}
	b := *a
	b.Body = "other text"
	ka, kb := MessageKey(a), MessageKey(&b)
	if !strings.HasPrefix(ka, "mail:sha256:") || len(ka) != len("mail:sha256:")+32 {
		t.Errorf("MessageKey without an id = %q", ka)
	}
	// sha256("ann@example.com\n2025-03-03T09:00:00Z\nPlan\ntext")
	if ka != "mail:sha256:"+sha256Prefix("ann@example.com\n2025-03-03T09:00:00Z\nPlan\ntext") {
		t.Errorf("MessageKey = %q does not follow the documented recipe", ka)
	}
	if ka == kb {
		t.Error("two different messages have the same key")
	}
}
