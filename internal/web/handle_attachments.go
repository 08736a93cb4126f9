package web

import "github.com/labstack/echo/v4"

// registerAttachmentRoutes registers uploads and downloads of attachments.
func (s *Server) registerAttachmentRoutes(e *echo.Echo) {}
