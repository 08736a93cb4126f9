package mailin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"

	"projblog/internal/apperr"
)

// Reply addresses.
//
// Every notice and digest entry about a post carries a reply address
// reply+TOKEN@DOMAIN. The token binds the person the message was sent to,
// the post and (for a notice about one comment) the comment a reply
// answers, and the day it was made:
//
//	base32 (lower case, unpadded) of
//	  uvarint(userID) uvarint(postID) uvarint(commentID) uvarint(day)
//	  || HMAC-SHA256(secret, "reply" || those bytes)[:10]
//
// where day counts days since 2020-01-01 UTC. Lower-case base32 survives
// mail servers that change the case of addresses; the whole local part
// stays under 64 characters. The secret is 32 random bytes in bucket
// mailin.meta, made the first time it is needed. A token is good for
// ReplyTTL after its day (a reply to an old notice is refused with a
// message that points to the post's page); a changed or made-up token
// fails its HMAC.

const (
	replyLocal  = "reply+"
	replyTagLen = 10
	// DefaultReplyTTL is how long a reply address takes replies.
	DefaultReplyTTL = 180 * 24 * time.Hour
)

var (
	bMeta          = []byte("mailin.meta")
	keyReplySecret = []byte("reply_secret")
	tokenEncoding  = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	dayZero        = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
)

// replyToken is what a reply address says.
type replyToken struct {
	UserID, PostID, CommentID uint64
	Day                       uint64
}

func (t replyToken) issued() time.Time { return dayZero.AddDate(0, 0, int(t.Day)) }

func (t replyToken) encode(secret []byte) string {
	b := binary.AppendUvarint(nil, t.UserID)
	b = binary.AppendUvarint(b, t.PostID)
	b = binary.AppendUvarint(b, t.CommentID)
	b = binary.AppendUvarint(b, t.Day)
	b = append(b, replyTag(secret, b)...)
	return tokenEncoding.EncodeToString(b)
}

func replyTag(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("reply"))
	m.Write(payload)
	return m.Sum(nil)[:replyTagLen]
}

// errBadToken is the refusal of a token this site did not make.
func errBadToken() error {
	return apperr.New(apperr.NotFound, "This reply address is not valid: it was not made by this site, or it was changed on the way. Reply to the notice itself, or comment on the post's page.")
}

// decodeReplyToken checks a token's HMAC and reads it; it does not check
// its age.
func decodeReplyToken(secret []byte, tok string) (replyToken, error) {
	var t replyToken
	raw, err := tokenEncoding.DecodeString(strings.ToLower(tok))
	if err != nil || len(raw) <= replyTagLen {
		return t, errBadToken()
	}
	payload, tag := raw[:len(raw)-replyTagLen], raw[len(raw)-replyTagLen:]
	if !hmac.Equal(tag, replyTag(secret, payload)) {
		return t, errBadToken()
	}
	fields := []*uint64{&t.UserID, &t.PostID, &t.CommentID, &t.Day}
	for _, f := range fields {
		v, n := binary.Uvarint(payload)
		if n <= 0 {
			return t, errBadToken()
		}
		*f, payload = v, payload[n:]
	}
	if len(payload) != 0 {
		return t, errBadToken()
	}
	return t, nil
}

// replySecret reads the secret, creating it the first time, and keeps it
// in memory: every digest entry signs an address with it.
func (s *Service) replySecret() ([]byte, error) {
	if v := s.secret.Load(); v != nil {
		return *v, nil
	}
	secret, err := s.db.Secret(bMeta, keyReplySecret)
	if err != nil {
		return nil, err
	}
	s.secret.Store(&secret)
	return secret, nil
}

// ReplyAddress returns the address at which userID answers postID (and,
// commentID != 0, that comment) by e-mail: reply+TOKEN@Domain; "" when
// the site takes no mail (no Domain) or the secret cannot be read.
// notify puts it in Reply-To and in "reply by e-mail" links.
func (s *Service) ReplyAddress(userID, postID, commentID uint64) string {
	if s.opts.Domain == "" || userID == 0 || postID == 0 {
		return ""
	}
	secret, err := s.replySecret()
	if err != nil {
		s.log.Error("reply address", "err", err)
		return ""
	}
	day := uint64(max(0, s.now().Sub(dayZero)/(24*time.Hour)))
	t := replyToken{UserID: userID, PostID: postID, CommentID: commentID, Day: day}
	return replyLocal + t.encode(secret) + "@" + s.opts.Domain
}
