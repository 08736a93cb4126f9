package notify

import "context"

// Message is one e-mail ready to send: composed (see mail.go), addressed,
// with the headers that thread and unsubscribe it.
type Message struct {
	To      string
	Subject string
	Text    string            // the plain-text part
	HTML    string            // the HTML part
	Headers map[string]string // Message-ID, List-Id, List-Unsubscribe, ...
}

// Mailer delivers messages. Send returns an error when the message was not
// accepted; the outbox then retries later.
type Mailer interface {
	Send(ctx context.Context, m *Message) error
}
