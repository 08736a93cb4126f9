package web

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
	"projblog/internal/users"
)

func (s *Server) registerAdminRoutes(e *echo.Echo) {
	g := e.Group("/admin", s.requireAdmin)
	g.GET("/users", s.adminUsers)
	g.POST("/users", s.adminCreateUser)
	g.POST("/users/:id", s.adminChangeUser)
	g.GET("/backup", s.adminBackup)
}

func (s *Server) adminPage(c echo.Context, form users.NewUser) (*page, error) {
	list, err := s.users.List()
	if err != nil {
		return nil, err
	}
	p := s.page(c, "")
	p.Title = p.T("admin.users_title")
	p.Nav = "admin"
	p.Data["Users"] = list
	p.Data["Form"] = form
	return p, nil
}

func (s *Server) adminUsers(c echo.Context) error {
	p, err := s.adminPage(c, users.NewUser{})
	if err != nil {
		return err
	}
	return s.render(c, "admin_users", p)
}

// adminCreateUser creates an account with a random password that is shown
// once, for the admin to hand over.
func (s *Server) adminCreateUser(c echo.Context) error {
	in := users.NewUser{
		Email: strings.TrimSpace(c.FormValue("email")),
		Name:  strings.TrimSpace(c.FormValue("name")),
		Admin: c.FormValue("admin") == "1",
	}
	in.Password = rand.Text()
	u, err := s.users.Create(in)
	p, perr := s.adminPage(c, in)
	if perr != nil {
		return perr
	}
	if err != nil {
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "admin_users", p)
	}
	p.Data["Form"] = users.NewUser{}
	p.Data["Created"] = u
	p.Data["Password"] = in.Password
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, "admin_users", p)
}

func (s *Server) adminChangeUser(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return apperr.New(apperr.NotFound, "No such user.")
	}
	u, err := s.users.ByID(id)
	if err != nil {
		return err
	}
	var password string
	switch c.FormValue("action") {
	case "reset_password":
		password = rand.Text()
		err = s.users.SetPassword(id, password)
	case "make_admin":
		err = s.users.SetAdmin(id, true)
	case "revoke_admin":
		err = s.users.SetAdmin(id, false)
	case "deactivate":
		err = s.users.SetActive(id, false)
	case "activate":
		err = s.users.SetActive(id, true)
	default:
		err = apperr.New(apperr.Invalid, "Unknown action.")
	}
	p, perr := s.adminPage(c, users.NewUser{})
	if perr != nil {
		return perr
	}
	if err != nil {
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "admin_users", p)
	}
	if password != "" {
		p.Data["Reset"] = u
		p.Data["Password"] = password
		c.Response().Header().Set("Cache-Control", "no-store")
		return s.render(c, "admin_users", p)
	}
	return s.redirectFlash(c, "/admin/users", "saved")
}

// adminBackup streams a consistent copy of the whole database (bbolt's
// Tx.WriteTo inside one read transaction), while the site keeps serving.
func (s *Server) adminBackup(c echo.Context) error {
	name := "projblog-" + s.now().UTC().Format("20060102T150405Z") + ".db"
	h := c.Response().Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	if _, err := s.db.Backup(c.Response()); err != nil {
		s.log.Error("backup download", "err", err)
	}
	return nil
}
