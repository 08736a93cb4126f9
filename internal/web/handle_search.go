package web

import "github.com/labstack/echo/v4"

// registerSearchRoutes registers /search and /api/v1/search.
func (s *Server) registerSearchRoutes(e *echo.Echo) {}
