package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

func (s *Server) registerProjectRoutes(e *echo.Echo) {
	e.GET("/new", s.newProjectForm, s.requireLogin)
	e.POST("/new", s.createProject, s.requireLogin)
	e.GET("/p/:project", s.projectPage)
	e.GET("/p/:project/tags/:tag", s.projectTag)
	e.GET("/p/:project/archive", s.projectArchive)
	e.GET("/p/:project/archive/:year/:month", s.projectMonth)
	e.GET("/p/:project/drafts", s.projectDrafts, s.requireLogin)
	e.GET("/p/:project/trash", s.projectTrash, s.requireLogin)
	e.GET("/p/:project/settings", s.projectSettings, s.requireLogin)
	e.POST("/p/:project/settings", s.updateProject, s.requireLogin)
	e.POST("/p/:project/archived", s.archiveProject, s.requireLogin)
	e.POST("/p/:project/members", s.addMember, s.requireLogin)
	e.POST("/p/:project/members/:user", s.changeMember, s.requireLogin)
}

// can asks the access policy about the reader and a project they can see.
func can(c echo.Context, pv *posts.ProjectView, act access.Action) bool {
	return access.Can(actor(c), subject(pv), act)
}

func subject(pv *posts.ProjectView) access.Subject { return pv.Subject() }

// check is can as an error: NotFound, Forbidden or Unauthorized.
func check(c echo.Context, pv *posts.ProjectView, act access.Action) error {
	return access.Check(actor(c), subject(pv), act)
}

// projectPage puts the project and the reader's rights on a page.
func (s *Server) projectPageData(c echo.Context, pv *posts.ProjectView) *page {
	p := s.page(c, pv.Name)
	p.Data["Project"] = pv
	canPost := can(c, pv, access.Post)
	p.Data["CanPost"] = canPost
	p.Data["CanManage"] = can(c, pv, access.ManageProject)
	p.Data["CanModerate"] = can(c, pv, access.EditOthers)
	if s.opts.ProjectAddress != nil && pv.MailPosts != posts.MailOff && canPost {
		p.Data["MailAddress"] = s.opts.ProjectAddress(pv.Slug)
		p.Data["MailDraft"] = pv.MailPosts == posts.MailDraft
	}
	s.setFeeds(c, p, "/p/"+pv.Slug+"/feed", pv.Name, pv.Visibility == access.Public)
	return p
}

func (s *Server) projectPage(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	pinned, pg, err := s.posts.ProjectPosts(a, pv.Slug, c.QueryParam("after"), pageSize)
	if err != nil {
		return err
	}
	pinnedE, err := s.entries(a, pinned, false)
	if err != nil {
		return err
	}
	list, err := s.entries(a, pg.Posts, false)
	if err != nil {
		return err
	}
	tags, err := s.posts.Tags(a, pv.Slug)
	if err != nil {
		return err
	}
	months, err := s.posts.Months(a, pv.Slug)
	if err != nil {
		return err
	}
	p := s.projectPageData(c, pv)
	p.Data["Pinned"] = pinnedE
	p.Data["Entries"] = list
	p.Data["Next"] = pg.Next
	p.Data["Tags"] = tags
	p.Data["Months"] = months
	now := s.now()
	p.Data["Overdue"] = pv.Overdue(now)
	p.Data["NextDue"] = pv.NextDue()
	history, err := s.posts.HealthHistory(a, pv.Slug, 8)
	if err != nil {
		return err
	}
	p.Data["HealthHistory"] = history
	// Drafts and the trash stay reachable in an archived project for those
	// who could edit it before (the posts package lets them read there).
	unarchived := subject(pv)
	unarchived.Archived = false
	p.Data["CanSeeTrash"] = access.Can(a, unarchived, access.EditOthers)
	if u := currentUser(c); u != nil && access.Can(a, unarchived, access.EditOwn) {
		drafts, err := s.posts.Drafts(a, pv.Slug)
		if err != nil {
			return err
		}
		p.Data["DraftCount"] = len(drafts)
	}
	return s.render(c, "project", p)
}

func (s *Server) projectTag(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	tag, err := posts.NormalizeTag(c.Param("tag"))
	if err != nil {
		return err
	}
	pg, err := s.posts.TagPosts(a, pv.Slug, tag, c.QueryParam("after"), pageSize)
	if err != nil {
		return err
	}
	list, err := s.entries(a, pg.Posts, false)
	if err != nil {
		return err
	}
	p := s.projectPageData(c, pv)
	p.Title = p.T("tag.title", tag) + " · " + pv.Name
	p.Data["Tag"] = tag
	if err := s.tagFollowBox(c, p, tag, "/p/"+pv.Slug+"/tags/"+tag); err != nil {
		return err
	}
	s.setFeeds(c, p, "/p/"+pv.Slug+"/tags/"+tag+"/feed", pv.Name+" · #"+tag, pv.Visibility == access.Public)
	p.Data["Entries"] = list
	p.Data["Next"] = pg.Next
	return s.render(c, "list", p)
}

func (s *Server) projectArchive(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	months, err := s.posts.Months(a, pv.Slug)
	if err != nil {
		return err
	}
	p := s.projectPageData(c, pv)
	p.Title = p.T("archive.title") + " · " + pv.Name
	p.Data["Months"] = months
	return s.render(c, "archive", p)
}

func (s *Server) projectMonth(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	y, err1 := strconv.Atoi(c.Param("year"))
	m, err2 := strconv.Atoi(c.Param("month"))
	if err1 != nil || err2 != nil || m < 1 || m > 12 || y < 1970 || y > 9999 {
		return apperr.New(apperr.NotFound, "No such month.")
	}
	list, err := s.posts.MonthPosts(a, pv.Slug, y, time.Month(m))
	if err != nil {
		return err
	}
	entries, err := s.entries(a, list, false)
	if err != nil {
		return err
	}
	p := s.projectPageData(c, pv)
	p.Title = p.Month(y, time.Month(m)) + " · " + pv.Name
	p.Data["Heading"] = p.Month(y, time.Month(m))
	p.Data["Entries"] = entries
	return s.render(c, "list", p)
}

func (s *Server) projectDrafts(c echo.Context) error {
	return s.projectSubList(c, "drafts")
}

func (s *Server) projectTrash(c echo.Context) error {
	return s.projectSubList(c, "trash")
}

func (s *Server) projectSubList(c echo.Context, which string) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	var list []*posts.Post
	if which == "drafts" {
		list, err = s.posts.Drafts(a, pv.Slug)
	} else {
		list, err = s.posts.Trash(a, pv.Slug)
	}
	if err != nil {
		return err
	}
	entries, err := s.entries(a, list, false)
	if err != nil {
		return err
	}
	p := s.projectPageData(c, pv)
	p.Title = p.T(which+".title") + " · " + pv.Name
	p.Data["Heading"] = p.T(which + ".title")
	p.Data["Entries"] = entries
	p.Data["Which"] = which
	return s.render(c, "list", p)
}

// projectForm reads the project form.
func projectForm(c echo.Context) posts.ProjectInput {
	return posts.ProjectInput{
		Slug:        strings.TrimSpace(c.FormValue("slug")),
		Name:        strings.TrimSpace(c.FormValue("name")),
		Description: strings.TrimSpace(c.FormValue("description")),
		Visibility:  access.Visibility(c.FormValue("visibility")),
		SeenBy:      c.FormValue("seen_by") == "1",
		MailPosts:   posts.MailMode(c.FormValue("mail_posts")),
	}
}

func (s *Server) newProjectForm(c echo.Context) error {
	p := s.page(c, "")
	p.Title = p.T("project.new")
	p.Data["Form"] = posts.ProjectInput{Visibility: access.Internal}
	return s.render(c, "project_new", p)
}

func (s *Server) createProject(c echo.Context) error {
	in := projectForm(c)
	u := currentUser(c)
	pr, err := s.posts.CreateProject(u.Actor(), in, u.ID)
	if err != nil {
		p := s.page(c, "")
		p.Title = p.T("project.new")
		p.Data["Form"] = in
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "project_new", p)
	}
	return s.redirectFlash(c, "/p/"+pr.Slug, "project_created")
}

// memberRow is a member with their account.
type memberRow struct {
	posts.Member
	User *users.User
}

func (s *Server) settingsPage(c echo.Context, pv *posts.ProjectView, in posts.ProjectInput) (*page, error) {
	a := actor(c)
	members, err := s.posts.Members(a, pv.Slug)
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	accounts, err := s.users.ByIDs(ids)
	if err != nil {
		return nil, err
	}
	rows := make([]memberRow, 0, len(members))
	for _, m := range members {
		rows = append(rows, memberRow{Member: m, User: accounts[m.UserID]})
	}
	p := s.projectPageData(c, pv)
	p.Title = p.T("settings.project_title") + " · " + pv.Name
	p.Data["Form"] = in
	if s.opts.ProjectAddress != nil {
		p.Data["ProjectAddress"] = s.opts.ProjectAddress(pv.Slug)
	}
	p.Data["Members"] = rows
	p.Data["Roles"] = []access.Role{access.Viewer, access.Member, access.Owner}
	weekdays := make([]string, 7)
	for d := range weekdays {
		weekdays[d] = i18n.WeekdayName(p.Lang, time.Weekday(d))
	}
	p.Data["Weekdays"] = weekdays
	hours := make([]int, 24)
	for h := range hours {
		hours[h] = h
	}
	p.Data["Hours"] = hours
	p.Data["Zones"] = timeZones
	p.Data["DefaultZone"] = s.opts.DefaultTimeZone.String()
	guests, err := s.notify.Guests(a, pv.Slug)
	if err != nil {
		return nil, err
	}
	p.Data["Guests"] = guests
	p.Data["GuestModes"] = []notify.Mode{notify.Weekly, notify.Daily}
	p.Data["MaxGuests"] = notify.MaxGuests
	return p, nil
}

// projectInputOf is the project form filled with what is stored.
func projectInputOf(pv *posts.ProjectView) posts.ProjectInput {
	return posts.ProjectInput{Name: pv.Name, Description: pv.Description, Visibility: pv.Visibility, SeenBy: pv.SeenBy, MailPosts: pv.MailPosts}
}

func (s *Server) projectSettings(c echo.Context) error {
	pv, err := s.posts.Project(actor(c), c.Param("project"))
	if err != nil {
		return err
	}
	if err := check(c, pv, access.ManageProject); err != nil {
		return err
	}
	p, err := s.settingsPage(c, pv, posts.ProjectInput{Name: pv.Name, Description: pv.Description, Visibility: pv.Visibility, SeenBy: pv.SeenBy, MailPosts: pv.MailPosts})
	if err != nil {
		return err
	}
	return s.render(c, "project_settings", p)
}

func (s *Server) updateProject(c echo.Context) error {
	a := actor(c)
	in := projectForm(c)
	pr, err := s.posts.UpdateProject(a, c.Param("project"), in)
	if err != nil {
		pv, perr := s.posts.Project(a, c.Param("project"))
		if perr != nil || apperr.CodeOf(err) == apperr.Forbidden || apperr.CodeOf(err) == apperr.NotFound {
			return err
		}
		p, perr := s.settingsPage(c, pv, in)
		if perr != nil {
			return perr
		}
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "project_settings", p)
	}
	return s.redirectFlash(c, "/p/"+pr.Slug+"/settings", "saved")
}

func (s *Server) archiveProject(c echo.Context) error {
	archived := c.FormValue("archived") == "1"
	if err := s.posts.SetArchived(actor(c), c.Param("project"), archived); err != nil {
		return err
	}
	flash := "unarchived"
	if archived {
		flash = "archived"
	}
	return s.redirectFlash(c, "/p/"+c.Param("project")+"/settings", flash)
}

// memberError re-renders the settings page with a member error.
func (s *Server) memberError(c echo.Context, err error) error {
	pv, perr := s.posts.Project(actor(c), c.Param("project"))
	if perr != nil || apperr.CodeOf(err) == apperr.NotFound || apperr.CodeOf(err) == apperr.Forbidden {
		return err
	}
	p, perr := s.settingsPage(c, pv, posts.ProjectInput{Name: pv.Name, Description: pv.Description, Visibility: pv.Visibility, SeenBy: pv.SeenBy, MailPosts: pv.MailPosts})
	if perr != nil {
		return perr
	}
	status, err := formErrors(p, err)
	if err != nil {
		return err
	}
	p.Data["MemberEmail"] = c.FormValue("email")
	return s.renderStatus(c, status, "project_settings", p)
}

func (s *Server) addMember(c echo.Context) error {
	a := actor(c)
	slug := c.Param("project")
	pv, err := s.posts.Project(a, slug)
	if err != nil {
		return err
	}
	if err := check(c, pv, access.ManageMembers); err != nil {
		return err
	}
	email := strings.TrimSpace(c.FormValue("email"))
	u, err := s.users.ByEmail(email)
	if err != nil {
		return s.memberError(c, &apperr.Error{Code: apperr.Invalid, Field: "email",
			Message: "No user has the e-mail address " + email + ". An admin can create the account first."})
	}
	role := access.Role(c.FormValue("role"))
	if !role.Valid() {
		return s.memberError(c, apperr.FieldErr("role", "Choose a role: viewer, member or owner."))
	}
	if err := s.posts.SetMember(a, slug, u.ID, role); err != nil {
		return s.memberError(c, err)
	}
	return s.redirectFlash(c, "/p/"+slug+"/settings", "member_added")
}

func (s *Server) changeMember(c echo.Context) error {
	a := actor(c)
	slug := c.Param("project")
	uid, err := strconv.ParseUint(c.Param("user"), 10, 64)
	if err != nil {
		return apperr.New(apperr.NotFound, "No such member.")
	}
	if c.FormValue("remove") == "1" {
		err = s.posts.RemoveMember(a, slug, uid)
	} else {
		role := access.Role(c.FormValue("role"))
		if !role.Valid() {
			return s.memberError(c, apperr.FieldErr("role", "Choose a role: viewer, member or owner."))
		}
		err = s.posts.SetMember(a, slug, uid, role)
	}
	if err != nil {
		return s.memberError(c, err)
	}
	return s.redirectFlash(c, "/p/"+slug+"/settings", "saved")
}
