package web

import (
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
)

// The webhooks page of a project (/p/:project/webhooks): its owners and
// admins list, add, test, pause and delete the project's webhooks and
// read each one's last deliveries (notify/webhooks.go says what is sent
// and when). Everyone else gets the access policy's answer: 404 when
// they may not read the project, 403 when they may read but not manage
// it. The page shows the signing secrets of json webhooks, so it is never
// stored by a cache.
func (s *Server) registerWebhookRoutes(e *echo.Echo) {
	e.GET("/p/:project/webhooks", s.webhooksPage, s.requireLogin)
	e.POST("/p/:project/webhooks", s.addWebhook, s.requireLogin)
	e.POST("/p/:project/webhooks/:id/delete", s.deleteWebhook, s.requireLogin)
	e.POST("/p/:project/webhooks/:id/test", s.testWebhook, s.requireLogin)
	e.POST("/p/:project/webhooks/:id/active", s.setWebhookActive, s.requireLogin)
	e.POST("/p/:project/webhooks/:id/retry", s.retryWebhook, s.requireLogin)
}

// webhookLogShown is how many attempts the page shows per webhook.
const webhookLogShown = 10

// webhookRow is a webhook with its last attempts.
type webhookRow struct {
	notify.Webhook
	Log []notify.WebhookDelivery
}

// webhookForm is the add form as typed.
type webhookForm struct {
	URL, Format string
	Events      []string
}

// webhookOption is a choice of the add form.
type webhookOption struct {
	Value   string
	Checked bool
}

// webhooksPageData builds the page; form is what the add form shows.
func (s *Server) webhooksPageData(c echo.Context, form webhookForm) (*page, error) {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return nil, err
	}
	if err := check(c, pv, access.ManageProject); err != nil {
		return nil, err
	}
	hooks, err := s.notify.Webhooks(a, pv.Slug)
	if err != nil {
		return nil, err
	}
	rows := make([]webhookRow, 0, len(hooks))
	for _, w := range hooks {
		l, err := s.notify.WebhookLog(a, pv.Slug, w.ID)
		if err != nil {
			return nil, err
		}
		rows = append(rows, webhookRow{Webhook: w, Log: l[:min(len(l), webhookLogShown)]})
	}
	p := s.projectPageData(c, pv)
	p.Title = p.T("webhooks.title") + " · " + pv.Name
	p.Data["Webhooks"] = rows
	if form.Format == "" {
		form.Format = notify.WebhookSlack
	}
	p.Data["Form"] = form
	var formats, kinds []webhookOption
	for _, f := range notify.WebhookFormats {
		formats = append(formats, webhookOption{Value: f, Checked: f == form.Format})
	}
	for _, k := range notify.WebhookEventKinds {
		kinds = append(kinds, webhookOption{Value: k, Checked: len(form.Events) == 0 || slices.Contains(form.Events, k)})
	}
	p.Data["Formats"] = formats
	p.Data["Kinds"] = kinds
	p.Data["MaxAttempts"] = notify.MaxAttempts
	c.Response().Header().Set("Cache-Control", "no-store")
	return p, nil
}

func (s *Server) webhooksPage(c echo.Context) error {
	p, err := s.webhooksPageData(c, webhookForm{})
	if err != nil {
		return err
	}
	return s.render(c, "project_webhooks", p)
}

func (s *Server) addWebhook(c echo.Context) error {
	form := webhookForm{URL: strings.TrimSpace(c.FormValue("url")), Format: c.FormValue("format")}
	if fv, err := c.FormParams(); err == nil {
		form.Events = fv["events"]
	}
	slug := c.Param("project")
	if _, err := s.notify.AddWebhook(actor(c), slug, form.URL, form.Format, form.Events); err != nil {
		if code := apperr.CodeOf(err); code != apperr.Invalid {
			return err
		}
		p, perr := s.webhooksPageData(c, form)
		if perr != nil {
			return perr
		}
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "project_webhooks", p)
	}
	return s.redirectFlash(c, "/p/"+slug+"/webhooks", "webhook_added")
}

// webhookID reads the :id of a webhook route; NotFound when it is not a
// number.
func webhookID(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.New(apperr.NotFound, "No such webhook in this project.")
	}
	return id, nil
}

// webhookAction runs one action on a webhook and goes back to the page
// with a flash.
func (s *Server) webhookAction(c echo.Context, do func(a access.Actor, slug string, id uint64) (flash string, err error)) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	slug := c.Param("project")
	flash, err := do(actor(c), slug, id)
	if err != nil {
		return err
	}
	return s.redirectFlash(c, "/p/"+slug+"/webhooks", flash)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	return s.webhookAction(c, func(a access.Actor, slug string, id uint64) (string, error) {
		return "webhook_deleted", s.notify.DeleteWebhook(a, slug, id)
	})
}

func (s *Server) testWebhook(c echo.Context) error {
	return s.webhookAction(c, func(a access.Actor, slug string, id uint64) (string, error) {
		return "webhook_test_queued", s.notify.TestWebhook(a, slug, id)
	})
}

func (s *Server) setWebhookActive(c echo.Context) error {
	active := c.FormValue("active") == "1"
	return s.webhookAction(c, func(a access.Actor, slug string, id uint64) (string, error) {
		flash := "webhook_paused"
		if active {
			flash = "webhook_resumed"
		}
		return flash, s.notify.SetWebhookActive(a, slug, id, active)
	})
}

func (s *Server) retryWebhook(c echo.Context) error {
	return s.webhookAction(c, func(a access.Actor, slug string, id uint64) (string, error) {
		_, err := s.notify.RetryWebhookDeliveries(a, slug, id)
		return "webhook_retried", err
	})
}
