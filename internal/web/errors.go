package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
)

// statusOf maps an error code to its HTTP status. This is the only place
// that knows the mapping.
func statusOf(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusUnprocessableEntity
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.TooMany:
		return http.StatusTooManyRequests
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// handleError is echo's one error handler: it maps an apperr (or an echo
// error) to a status and a page or JSON body a person can read, and logs
// only internal errors.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := apperr.CodeOf(err), apperr.MessageOf(err)
	var ae *apperr.Error
	var he *echo.HTTPError
	isHTTP := !errors.As(err, &ae) && errors.As(err, &he)
	if isHTTP {
		code, msg = codeOfStatus(he.Code), httpMessage(he)
	}
	status := statusOf(code)
	if isHTTP && he.Code == http.StatusBadRequest {
		// A request that cannot be read at all (malformed JSON, an
		// unknown field) is 400; 422 is for input that was read and
		// found wrong.
		status = http.StatusBadRequest
	}
	if code == apperr.Internal {
		s.log.Error("internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if wantsJSON(c) {
		if isHTTP && code == apperr.NotFound && isAPIPath(c.Request().URL.Path) {
			msg = "There is no " + c.Request().Method + " " + c.Request().URL.Path + " in the API; docs/API.md lists its endpoints."
		}
		body := map[string]string{"error": msg, "code": string(code)}
		if ae != nil && ae.Field != "" && code != apperr.Internal {
			body["field"] = ae.Field
		}
		_ = c.JSON(status, body)
		return
	}
	l := lang(c)
	title := s.t(l, "error.title."+string(code))
	if code == apperr.Internal {
		msg = s.t(l, "error.internal")
	} else if code == apperr.NotFound {
		msg = s.t(l, "error.not_found")
	}
	p := s.page(c, title)
	p.Data = map[string]any{"Status": status, "Message": msg, "Code": string(code),
		"LoginNext": currentUser(c) == nil && (code == apperr.NotFound || code == apperr.Unauthorized)}
	if err := s.renderStatus(c, status, "error", p); err != nil {
		s.log.Error("render error page", "err", err)
		_ = c.String(status, msg)
	}
}

func codeOfStatus(status int) apperr.Code {
	switch status {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return apperr.NotFound
	case http.StatusForbidden:
		return apperr.Forbidden
	case http.StatusUnauthorized:
		return apperr.Unauthorized
	case http.StatusRequestEntityTooLarge:
		return apperr.TooLarge
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return apperr.Invalid
	case http.StatusTooManyRequests:
		return apperr.TooMany
	}
	if status >= 500 {
		return apperr.Internal
	}
	return apperr.Invalid
}

func httpMessage(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusRequestEntityTooLarge:
		return "The request is too large (the limit is 2 MiB; a post body may hold at most 1 MiB)."
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "Page not found."
	}
	if m, ok := he.Message.(string); ok {
		return m
	}
	return http.StatusText(he.Code)
}

// wantsJSON reports whether the error answer is JSON: always on the JSON
// API's paths, elsewhere when the client asks for JSON and not HTML.
func wantsJSON(c echo.Context) bool {
	if isAPIPath(c.Request().URL.Path) {
		return true
	}
	return strings.Contains(c.Request().Header.Get("Accept"), "application/json") &&
		!strings.Contains(c.Request().Header.Get("Accept"), "text/html")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
