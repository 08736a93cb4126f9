package web

import "github.com/labstack/echo/v4"

// registerAPIRoutes: the JSON API under /api/v1 (being written).
func (s *Server) registerAPIRoutes(e *echo.Echo) {}
