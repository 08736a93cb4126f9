package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

const seedUsage = `usage: projblog seed [--data DIR] [--posts N] [--users N] [--projects N] [--seed S] [--until DATE]

Fills a fresh data directory with a realistic, generated data set for
trials and benchmarks: people, projects (public, internal and private, with
members), posts of 0.5–10 KB of Markdown (headings, lists, tables, code,
links, in English and French) over the last years, tags, status updates,
decisions and comments with replies. The same --seed and --until give the
same data.
Every seeded person's password is "projblog-seed"; the first is an admin
(admin@seed.example). Posts go through the import path (projblog import),
so nobody is notified. Refuses a data directory that already has people.
`

// seedPassword is every seeded account's password: seeded data is for
// trials, never for production.
const seedPassword = "projblog-seed"

func cmdSeed(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, seedUsage)
		return nil
	}
	cfg := defaults()
	fs := newFlagSet("seed", "seed [--posts N] [--users N] [--projects N] [--seed S]", stderr)
	cfg.dataFlag(fs)
	nPosts := fs.Int("posts", 1000, "number of `N` posts")
	nUsers := fs.Int("users", 0, "number of `N` people (default: about one per 2,000 posts, 20 to 2,000)")
	nProjects := fs.Int("projects", 0, "number of `N` projects (default: about one per 5,000 posts, 5 to 500)")
	seed := fs.Uint64("seed", 1, "`S` seeds the generator: the same seed and --until give the same data")
	until := fs.String("until", "", "the newest post's `DATE` (YYYY-MM-DD, default today); posts go back from there")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("seed takes no positional arguments")
	}
	if *nPosts < 0 || *nPosts > 10_000_000 {
		return usagef("--posts must be between 0 and 10000000")
	}
	if *nUsers == 0 {
		*nUsers = min(2000, max(20, *nPosts/2000))
	}
	if *nProjects == 0 {
		*nProjects = min(500, max(5, *nPosts/5000))
	}
	if *nUsers < 3 || *nProjects < 1 {
		return usagef("--users must be at least 3 and --projects at least 1")
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	if *until != "" {
		if end, err = time.Parse(time.DateOnly, *until); err != nil {
			return usagef("--until must be a date like 2026-11-27, not %q", *until)
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	cfg.bulk = true
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if n, err := a.users.Count(); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("%s already has %d people; seed fills a fresh data directory", cfg.DataDir, n)
	}
	g := &seeder{a: a, rng: rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)), now: end}
	start := time.Now()
	if err := g.people(*nUsers); err != nil {
		return err
	}
	if err := g.projects(*nProjects); err != nil {
		return err
	}
	bar := newProgress(stderr, "seeding posts", *nPosts)
	posts, comments, err := g.posts(*nPosts, bar.Set)
	bar.Done()
	if err != nil {
		return err
	}
	if err := a.db.Bolt().Sync(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d people, %d projects, %d posts and %d comments in %s\n",
		len(g.users), len(g.projs), posts, comments, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "log in as admin@seed.example (or any seeded address) with the password %q\n", seedPassword)
	return nil
}

type seedProject struct {
	slug    string
	members []uint64
	weight  float64
}

type seeder struct {
	a     *app
	rng   *rand.Rand
	now   time.Time
	users []uint64
	projs []seedProject
}

func (g *seeder) pick(words []string) string { return words[g.rng.IntN(len(words))] }

func (g *seeder) people(n int) error {
	for i := range n {
		first, last := g.pick(firstNames), g.pick(lastNames)
		email := fmt.Sprintf("%s.%s.%d@seed.example", strings.ToLower(asciiName(first)), strings.ToLower(asciiName(last)), i)
		if i == 0 {
			email = "admin@seed.example"
		}
		u, err := g.a.users.Create(users.NewUser{Email: email, Name: first + " " + last, Password: seedPassword, Admin: i == 0,
			TimeZone: g.pick([]string{"Europe/Paris", "America/Montreal", "America/Toronto", "Europe/London", "UTC"})})
		if err != nil {
			return fmt.Errorf("person %d: %w", i+1, err)
		}
		g.users = append(g.users, u.ID)
	}
	return nil
}

func (g *seeder) projects(n int) error {
	for i := range n {
		name := g.pick(projectWords) + " " + g.pick(projectNouns)
		slug := fmt.Sprintf("%s-%d", posts.Slugify(name), i+1)
		vis := access.Internal
		switch r := g.rng.Float64(); {
		case r < 0.25:
			vis = access.Public
		case r > 0.85:
			vis = access.Private
		}
		owner := g.users[g.rng.IntN(len(g.users))]
		if _, err := g.a.posts.CreateProject(systemActor, posts.ProjectInput{
			Slug: slug, Name: name, Visibility: vis,
			Description: "The " + strings.ToLower(name) + " team's updates: " + g.sentence(12),
		}, owner); err != nil {
			return fmt.Errorf("project %s: %w", slug, err)
		}
		p := seedProject{slug: slug, members: []uint64{owner}, weight: 1 / math.Pow(float64(i+1), 0.8)}
		for range 2 + g.rng.IntN(12) {
			id := g.users[g.rng.IntN(len(g.users))]
			if id == owner {
				continue
			}
			role := access.Member
			if g.rng.IntN(4) == 0 {
				role = access.Viewer
			}
			if err := g.a.posts.SetMember(systemActor, slug, id, role); err != nil {
				return err
			}
			if role == access.Member {
				p.members = append(p.members, id)
			}
		}
		g.projs = append(g.projs, p)
	}
	return nil
}

// posts generates n posts in time order over the last years and imports
// them project by project in batches.
func (g *seeder) posts(n int, progress func(int)) (int, int, error) {
	total := 0.0
	for _, p := range g.projs {
		total += p.weight
	}
	span := time.Duration(min(5*365, 30+n/200)) * 24 * time.Hour
	first := g.now.Add(-span)
	step := span / time.Duration(max(n, 1))
	pending := make([][]posts.ImportedPost, len(g.projs))
	done, posted, commented := 0, 0, 0
	flush := func(i int) error {
		if len(pending[i]) == 0 {
			return nil
		}
		res, err := g.a.posts.Import(systemActor, g.projs[i].slug, pending[i])
		if err != nil {
			return fmt.Errorf("%s: %w", g.projs[i].slug, err)
		}
		posted += res.Created
		commented += res.Comments
		done += len(pending[i])
		pending[i] = pending[i][:0]
		progress(done)
		return nil
	}
	for k := range n {
		r := g.rng.Float64() * total
		i := 0
		for ; i < len(g.projs)-1 && r >= g.projs[i].weight; i++ {
			r -= g.projs[i].weight
		}
		at := first.Add(time.Duration(k)*step + time.Duration(g.rng.Int64N(int64(max(step, 1)))))
		pending[i] = append(pending[i], g.post(k, &g.projs[i], at))
		if len(pending[i]) >= importBatchSize {
			if err := flush(i); err != nil {
				return posted, commented, err
			}
		}
	}
	for i := range pending {
		if err := flush(i); err != nil {
			return posted, commented, err
		}
	}
	return posted, commented, nil
}

func (g *seeder) post(k int, p *seedProject, at time.Time) posts.ImportedPost {
	author := p.members[g.rng.IntN(len(p.members))]
	ip := posts.ImportedPost{
		Key: fmt.Sprintf("seed:%d", k), AuthorID: author, CreatedAt: at,
		Title: g.title(), Body: g.body(), Tags: g.tags(),
	}
	switch r := g.rng.IntN(100); {
	case r < 8:
		ip.Health = posts.OnTrack
		ip.Title = "Weekly status: " + ip.Title
	case r < 11:
		ip.Health = posts.AtRisk
		ip.Title = "Status: " + ip.Title
	case r < 12:
		ip.Health = posts.OffTrack
		ip.Title = "Status: " + ip.Title
	case r < 15:
		ip.Decision = true
		ip.Title = "Decision: " + ip.Title
	case r < 17:
		ip.Draft = true
	}
	for j := range g.rng.IntN(5) * g.rng.IntN(3) / 2 {
		c := posts.ImportedComment{
			AuthorID:  p.members[g.rng.IntN(len(p.members))],
			Body:      g.sentence(6 + g.rng.IntN(30)),
			CreatedAt: at.Add(time.Duration(j+1) * time.Duration(1+g.rng.IntN(180)) * time.Minute),
		}
		if j > 0 && g.rng.IntN(2) == 0 {
			c.ReplyTo = 1 + g.rng.IntN(j)
		}
		ip.Comments = append(ip.Comments, c)
	}
	return ip
}

func (g *seeder) title() string {
	return capitalise(g.pick(verbs) + " " + g.pick(adjectives) + " " + g.pick(nouns) + " " + g.pick(tails))
}

func (g *seeder) tags() []string {
	var out []string
	for range 1 + g.rng.IntN(3) {
		out = append(out, g.pick(tagWords))
	}
	return out
}

func (g *seeder) sentence(words int) string {
	lang := english
	if g.rng.IntN(3) == 0 {
		lang = french
	}
	var b strings.Builder
	for i := range words {
		w := lang[g.rng.IntN(len(lang))]
		if i == 0 {
			w = capitalise(w)
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteString(".")
	return b.String()
}

// body is 0.5–10 KB of Markdown, log-uniformly (most posts are short).
func (g *seeder) body() string {
	target := int(500 * math.Pow(20, g.rng.Float64()))
	var b strings.Builder
	for b.Len() < target {
		switch g.rng.IntN(9) {
		case 0:
			fmt.Fprintf(&b, "## %s\n\n", capitalise(g.pick(nouns)+" "+g.pick(tails)))
		case 1:
			for range 2 + g.rng.IntN(4) {
				fmt.Fprintf(&b, "- %s\n", g.sentence(4+g.rng.IntN(8)))
			}
			b.WriteByte('\n')
		case 2:
			b.WriteString("| Item | Owner | Status |\n| --- | --- | --- |\n")
			for range 2 + g.rng.IntN(4) {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", capitalise(g.pick(nouns)), g.pick(firstNames), g.pick([]string{"done", "in progress", "blocked", "à faire"}))
			}
			b.WriteByte('\n')
		case 3:
			fmt.Fprintf(&b, "```go\nfunc %s() error {\n\treturn %s(%d)\n}\n```\n\n", g.pick(verbs), g.pick(verbs), g.rng.IntN(1000))
		case 4:
			fmt.Fprintf(&b, "See [the %s](https://wiki.example.com/%s) and `%s`. %s\n\n", g.pick(nouns), g.pick(nouns), g.pick(nouns), g.sentence(10))
		default:
			fmt.Fprintf(&b, "%s %s %s\n\n", g.sentence(8+g.rng.IntN(12)), g.sentence(6+g.rng.IntN(10)), g.sentence(5+g.rng.IntN(15)))
		}
	}
	return b.String()
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// asciiName keeps the letters of a name an e-mail address can hold.
func asciiName(s string) string {
	return strings.Trim(posts.Slugify(s), "-")
}

var (
	firstNames   = []string{"Ada", "Bruno", "Chloé", "Dmitri", "Élodie", "Farid", "Grace", "Hélène", "Ines", "Jules", "Kenji", "Léa", "Marc", "Noémie", "Olivier", "Priya", "Quentin", "Rosa", "Sami", "Thérèse", "Ulrich", "Valérie", "Wen", "Xavier", "Yasmine", "Zoé"}
	lastNames    = []string{"Lovelace", "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Martin", "Bernard", "Dubois", "Okafor", "Nakamura", "Singh", "Garcia", "Müller", "Rossi", "Leclerc", "Pelletier", "Fortin", "Nguyen", "Haddad"}
	projectWords = []string{"Atlas", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Nova", "Orca", "Pilot", "Quartz", "Raven", "Summit", "Tundra"}
	projectNouns = []string{"Migration", "Platform", "Billing", "Onboarding", "Search", "Mobile", "Data Warehouse", "Payments", "Identity", "Reporting", "Logistics", "Website"}
	verbs        = []string{"ship", "migrate", "review", "plan", "measure", "retire", "launch", "test", "document", "refactor", "rollout", "benchmark"}
	adjectives   = []string{"new", "faster", "shared", "legacy", "quarterly", "mobile", "internal", "nightly", "regional", "encrypted"}
	nouns        = []string{"database", "pipeline", "dashboard", "release", "budget", "schema", "service", "roadmap", "cluster", "invoice", "backlog", "contract", "vendor", "API", "cache", "serveur", "déploiement", "calendrier"}
	tails        = []string{"for Q3", "this sprint", "before launch", "in production", "with the vendor", "for the audit", "next week", "après la migration", "pour le client"}
	tagWords     = []string{"database", "release", "security", "hiring", "budget", "infra", "design", "legal", "client", "qa", "roadmap", "incident", "déploiement", "décision"}
	english      = strings.Fields("the team agreed that we should move the database migration forward because the vendor confirmed the new schema and the nightly backups are now tested in staging while the budget review waits for finance and the release notes need one more pass before we ship to customers next week after the security audit closes")
	french       = strings.Fields("l'équipe a décidé que la migration du serveur se fera après les tests de charge et le client a validé le calendrier mais le budget reste à confirmer avant la mise en production prévue la semaine prochaine avec les sauvegardes chiffrées")
)

// seedBcryptCost is the password hashing cost of seeded accounts: the
// cheapest, since a seeded data set is for trials and its one password is
// printed anyway.
const seedBcryptCost = bcrypt.MinCost
