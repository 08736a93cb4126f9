package mailin

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Thread is one conversation of an archive: the message that started it
// and the replies, each knowing the message it answers.
type Thread struct {
	// Messages are the thread's messages, Messages[0] its root (the
	// earliest message whose parent is not in the archive). The others
	// follow in date order, except that a message always comes after the
	// one it answers (clocks disagree); undated messages keep their place
	// in the archive.
	Messages []*Message
	// ReplyTo[i] is the index in Messages of the message Messages[i]
	// answers, -1 for the root; always less than i.
	ReplyTo []int
}

// SubjectWindow is how long after a thread's latest message a reply found
// only by its subject still joins it (see Threads).
const SubjectWindow = 60 * 24 * time.Hour

// Threads groups messages into conversations.
//
// A message answers the message its In-Reply-To names when that message
// is in msgs, else the last message of its References that is (a link
// that would close a cycle is not made, so broken headers cannot make a
// loop). A message whose parent is not found this way, and whose subject
// has a reply prefix ("Re:", "RE :", "AW:", "SV:", ... after any "[list]"
// tags), answers the root of the latest thread with the same subject
// (NormalizeSubject) whose latest message is at most SubjectWindow before
// it: mail clients that drop the headers, and replies to a message the
// archive lacks, stay together. Any other message starts a thread.
//
// The same message twice (equal MessageKey: the same Message-ID, or for a
// message without one, the same sender, date, subject and text) is kept
// once, the first time. Threads come in the order of their roots' dates.
// A message without a date counts as sent at the date of the message
// before it in msgs. nil messages are ignored. msgs is not changed.
func Threads(msgs []*Message) []*Thread {
	// The messages kept, in archive order, with their effective dates.
	var list []*Message
	seen := map[string]bool{}
	for _, m := range msgs {
		if m == nil {
			continue
		}
		if k := MessageKey(m); !seen[k] {
			seen[k] = true
			list = append(list, m)
		}
	}
	n := len(list)
	eff := make([]time.Time, n)
	var last time.Time
	for i, m := range list {
		if !m.Date.IsZero() {
			last = m.Date
		}
		eff[i] = last
	}
	byID := make(map[string]int, n)
	for i, m := range list {
		if m.MessageID != "" {
			if _, ok := byID[m.MessageID]; !ok {
				byID[m.MessageID] = i
			}
		}
	}
	// Date order, the archive's among equal dates.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return eff[a].Compare(eff[b]) })

	parent := make([]int, n)
	for i := range parent {
		parent[i] = -1
	}
	// isAncestor tells whether a is b or one of b's ancestors.
	isAncestor := func(a, b int) bool {
		for steps := 0; b >= 0 && steps <= n; steps++ {
			if a == b {
				return true
			}
			b = parent[b]
		}
		return false
	}
	for _, i := range order {
		m := list[i]
		cands := make([]string, 0, len(m.InReplyTo)+len(m.References))
		for k := len(m.InReplyTo) - 1; k >= 0; k-- {
			cands = append(cands, m.InReplyTo[k])
		}
		for k := len(m.References) - 1; k >= 0; k-- {
			cands = append(cands, m.References[k])
		}
		for _, id := range cands {
			if j, ok := byID[id]; ok && !isAncestor(i, j) {
				parent[i] = j
				break
			}
		}
	}
	rootOf := func(i int) int {
		for steps := 0; parent[i] >= 0 && steps <= n; steps++ {
			i = parent[i]
		}
		return i
	}

	// The subject fallback, in date order. bySubject holds the latest
	// thread root of each subject, latest each root's latest date so far.
	// A root has no parent, so linking a message to one makes no cycle.
	bySubject := map[string]int{}
	latest := make([]time.Time, n)
	for _, i := range order {
		m := list[i]
		subj := strings.ToLower(NormalizeSubject(m.Subject))
		if parent[i] < 0 && subj != "" && hasReplyPrefix(m.Subject) {
			if r, ok := bySubject[subj]; ok && r != i && parent[r] < 0 && eff[i].Sub(latest[r]) <= SubjectWindow {
				parent[i] = r
			}
		}
		if r := rootOf(i); eff[i].After(latest[r]) {
			latest[r] = eff[i]
		}
		if parent[i] < 0 && subj != "" {
			bySubject[subj] = i
		}
	}

	// Gather the threads: members in date order, then each message moved
	// after its parent.
	members := map[int][]int{}
	var roots []int
	for _, i := range order {
		r := rootOf(i)
		if _, ok := members[r]; !ok {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	slices.SortStableFunc(roots, func(a, b int) int {
		return cmp.Or(eff[a].Compare(eff[b]), cmp.Compare(a, b))
	})
	out := make([]*Thread, 0, len(roots))
	for _, r := range roots {
		out = append(out, buildThread(list, parent, r, members[r]))
	}
	return out
}

// buildThread orders the members of root r's thread (given in date order)
// so that each comes after its parent, the root first.
func buildThread(list []*Message, parent []int, r int, members []int) *Thread {
	th := &Thread{}
	pos := map[int]int{}
	waiting := map[int][]int{} // parent -> children waiting for it
	var emit func(i int)
	emit = func(i int) {
		pos[i] = len(th.Messages)
		th.Messages = append(th.Messages, list[i])
		if p := parent[i]; p >= 0 {
			th.ReplyTo = append(th.ReplyTo, pos[p])
		} else {
			th.ReplyTo = append(th.ReplyTo, -1)
		}
		kids := waiting[i]
		delete(waiting, i)
		for _, k := range kids {
			emit(k)
		}
	}
	emit(r)
	for _, i := range members {
		if i == r {
			continue
		}
		if _, ok := pos[parent[i]]; ok {
			emit(i)
		} else {
			waiting[parent[i]] = append(waiting[parent[i]], i)
		}
	}
	return th
}

// replyPrefix matches a subject that answers another: "Re:", "RE :",
// "Re[2]:", "Réf. :", "AW:" (German), "SV:" and "VS:" (Nordic), "Antw:"
// (Dutch), "RIF:" (Italian), "RES:" (Portuguese), after any "[list]"
// tags. Forwards ("Fwd:", "TR:", "WG:", "RV:") start conversations of
// their own.
var replyPrefix = regexp.MustCompile(`(?i)^\s*(?:\[[^\]]*\]\s*)*(?:re|aw|sv|vs|antw|odp|réf\.?|ref|rif|res)\s*(?:\[\d+\]|\(\d+\))?\s*:`)

func hasReplyPrefix(subject string) bool { return replyPrefix.MatchString(subject) }

// MessageKey is the source key (see posts.SourceTarget) under which what
// a message becomes is stored: "mail:" and its Message-ID, or, for a
// message without one, "mail:sha256:" and the first 32 hex digits of the
// SHA-256 of its sender's address, date (RFC 3339), subject and text, one
// per line, so that importing the same archive twice finds it again.
func MessageKey(m *Message) string {
	if m.MessageID != "" {
		return idKey(m.MessageID)
	}
	sum := sha256.Sum256([]byte(m.From.Email + "\n" + m.Date.UTC().Format(time.RFC3339) + "\n" + m.Subject + "\n" + m.Body))
	return "mail:sha256:" + hex.EncodeToString(sum[:])[:32]
}

// idKey is the source key of the message with this Message-ID.
func idKey(id string) string { return "mail:" + id }
