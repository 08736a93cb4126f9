// Package apperr is projblog's one error type: a code that says what kind of
// failure happened and a message fit for a person. Packages below the web
// floor return it; internal/web maps the code to an HTTP status.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error. The web layer maps each code to one HTTP status.
type Code string

// The codes. Internal is the default for errors that carry no code.
const (
	Invalid      Code = "invalid"      // the input is wrong; the message says how
	NotFound     Code = "not_found"    // no such thing, or the reader may not know it exists
	Forbidden    Code = "forbidden"    // the reader may see it but not do this
	Unauthorized Code = "unauthorized" // the reader must log in first
	Conflict     Code = "conflict"     // it collides with what exists (a taken slug, a stale edit)
	TooMany      Code = "too_many"     // throttled; try again later
	TooLarge     Code = "too_large"    // over a documented size limit
	Unavailable  Code = "unavailable"  // a resource is busy (the database is in use)
	Internal     Code = "internal"     // a bug or an I/O failure; logged, never shown in detail
)

// Error is an error with a code and a human message. Field names the form
// field the error is about, when there is one, so a form can mark it.
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error // the underlying cause, if any; never shown to the reader
}

// Error returns the message, followed by the cause for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErr returns an Invalid error about one form field.
func FieldErr(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Internal error with a context message and a cause.
func Wrap(err error, format string, args ...any) *Error {
	return &Error{Code: Internal, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of err, Internal for a plain error, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the message fit for a person: the message of an *Error
// that is not Internal, else a generic text.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "Something went wrong on our side. The error has been logged."
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
