package server

import (
	"cmp"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// accountsPageSize is how many accounts one page of /accounts lists.
const accountsPageSize = 50

// accountsQuery is the filter, sort and page of /accounts, from its query
// string (the filter form is a GET form: the URL is the view).
type accountsQuery struct {
	Q       string // search: name, key, owner, purpose or tag, as a substring
	Tier    int
	Level   string // a strength machine name
	Owner   string // an owner's name, exactly (case-insensitive)
	NoOwner bool
	Status  string
	Env     string
	Host    string
	Vendor  string // the account tag third-party=VENDOR
	Source  string // "registered" or "scanned"
	Sort    string // a column of accountsColumns
	Desc    bool
	Page    int // from 1
}

// accountsSort is a sortable column and its order.
type accountsSort struct {
	key, label string
	less       func(a, b *inventory.AccountSummary) int
}

// accountsColumns are the sortable columns.
var accountsColumns = []accountsSort{
	{"name", "Account", func(a, b *inventory.AccountSummary) int { return strings.Compare(a.Key, b.Key) }},
	{"tier", "Tier", func(a, b *inventory.AccountSummary) int { return cmp.Compare(a.Tier, b.Tier) }},
	{"level", "Strength", func(a, b *inventory.AccountSummary) int { return cmp.Compare(a.Strength, b.Strength) }},
	{"owner", "Owner", func(a, b *inventory.AccountSummary) int {
		return strings.Compare(ownerName(a.Owner), ownerName(b.Owner))
	}},
	{"status", "Status", func(a, b *inventory.AccountSummary) int { return strings.Compare(string(a.Status), string(b.Status)) }},
	{"env", "Environment", func(a, b *inventory.AccountSummary) int { return strings.Compare(a.Env, b.Env) }},
	{"instances", "Instances", func(a, b *inventory.AccountSummary) int { return cmp.Compare(a.Instances, b.Instances) }},
	{"last_seen", "Last seen", func(a, b *inventory.AccountSummary) int { return a.LastSeen.Compare(b.LastSeen) }},
}

func ownerName(o *inventory.Owner) string {
	if o == nil {
		return ""
	}
	return o.Name
}

// parseAccountsQuery reads and checks the query; a bad value is a 400
// naming the parameter.
func parseAccountsQuery(q url.Values) (accountsQuery, error) {
	aq := accountsQuery{Q: strings.TrimSpace(q.Get("q")), Owner: strings.TrimSpace(q.Get("owner")), Env: q.Get("env"),
		Host: q.Get("host"), Vendor: q.Get("vendor"), Level: q.Get("level"), Status: q.Get("status"),
		Source: q.Get("source"), Sort: cmp.Or(q.Get("sort"), "tier"), Desc: q.Get("dir") == "desc", Page: 1}
	if t := q.Get("tier"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 4 {
			return aq, errorf(http.StatusBadRequest, "query parameter tier: %q is not a tier from 1 to 4", t)
		}
		aq.Tier = n
	}
	if aq.Level != "" {
		if _, err := inventory.ParseStrength(aq.Level); err != nil {
			return aq, errorf(http.StatusBadRequest, "query parameter level: %v", err)
		}
	}
	switch aq.Source {
	case "", "registered", "scanned":
	default:
		return aq, errorf(http.StatusBadRequest, "query parameter source: %q is not registered or scanned", aq.Source)
	}
	if !slices.ContainsFunc(accountsColumns, func(c accountsSort) bool { return c.key == aq.Sort }) {
		return aq, errorf(http.StatusBadRequest, "query parameter sort: %q is not a column (name, tier, level, owner, status, env, instances, last_seen)", aq.Sort)
	}
	if d := q.Get("dir"); d != "" && d != "asc" && d != "desc" {
		return aq, errorf(http.StatusBadRequest, "query parameter dir: %q is not asc or desc", d)
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1<<20 {
			return aq, errorf(http.StatusBadRequest, "query parameter page: %q is not a page number", p)
		}
		aq.Page = n
	}
	aq.NoOwner = q.Get("no_owner") != ""
	return aq, nil
}

// values is the query string of aq, with the page and sort as given.
func (aq accountsQuery) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", aq.Q)
	if aq.Tier != 0 {
		v.Set("tier", strconv.Itoa(aq.Tier))
	}
	set("level", aq.Level)
	set("owner", aq.Owner)
	if aq.NoOwner {
		v.Set("no_owner", "1")
	}
	set("status", aq.Status)
	set("env", aq.Env)
	set("host", aq.Host)
	set("vendor", aq.Vendor)
	set("source", aq.Source)
	if aq.Sort != "tier" {
		v.Set("sort", aq.Sort)
	}
	if aq.Desc {
		v.Set("dir", "desc")
	}
	if aq.Page > 1 {
		v.Set("page", strconv.Itoa(aq.Page))
	}
	return v
}

func (aq accountsQuery) url() string {
	if e := aq.values().Encode(); e != "" {
		return "/accounts?" + e
	}
	return "/accounts"
}

// matches is the filter but for the host.
func (aq accountsQuery) matches(a *inventory.AccountSummary, level inventory.Strength) bool {
	switch {
	case aq.Tier != 0 && int(a.Tier) != aq.Tier,
		aq.NoOwner && a.Owner != nil,
		aq.Env != "" && a.Env != aq.Env,
		aq.Level != "" && a.Strength != level,
		aq.Owner != "" && (a.Owner == nil || !strings.EqualFold(a.Owner.Name, aq.Owner)),
		aq.Status != "" && string(a.Status) != aq.Status,
		aq.Vendor != "" && !slices.Contains(a.Tags, "third-party="+aq.Vendor),
		aq.Source == "registered" && a.Registered == nil,
		aq.Source == "scanned" && a.Registered != nil:
		return false
	}
	if aq.Q == "" {
		return true
	}
	q := strings.ToLower(aq.Q)
	if strings.Contains(strings.ToLower(a.Key), q) || strings.Contains(strings.ToLower(a.Purpose), q) ||
		strings.Contains(strings.ToLower(ownerName(a.Owner)), q) {
		return true
	}
	for _, t := range a.Tags {
		if strings.Contains(strings.ToLower(t), q) {
			return true
		}
	}
	return false
}

// accountsData is the accounts page's data.
type accountsData struct {
	Query    accountsQuery
	Rows     []*inventory.AccountSummary
	ListedAt time.Time // when the list was taken (webaccountsnapshot.go)
	Total    int
	Page     int
	Pages    int
	First    int // the 1-based position of the first row shown
	Last     int
	Prev     string // URL of the previous page ("" on the first)
	Next     string
	CSV      string // URL of this list as CSV
	Columns  []accountsColumn
	Tiers    []int
	Levels   []inventory.Strength
	Statuses []inventory.Status
}

// accountsColumn is a column heading: a link that sorts by it.
type accountsColumn struct {
	Label, URL string
	// Sorted is "ascending" or "descending" for the sorted column (its
	// aria-sort), else "".
	Sorted string
}

// accountsPage answers GET /accounts: the service accounts, filtered,
// sorted and one page of them; ?format=csv exports every account the
// filter selects.
func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	aq, err := parseAccountsQuery(r.URL.Query())
	if err != nil {
		return err
	}
	snap, err := s.accountsSnapshot(r.Context())
	if err != nil {
		return err
	}
	var onHost map[string]bool
	if aq.Host != "" {
		h, err := s.inv.GetHost(r.Context(), aq.Host)
		if err != nil {
			return err
		}
		onHost = map[string]bool{}
		for _, in := range h.Instances {
			if in.GoneAt == nil {
				onHost[in.ServiceAccount] = true
			}
		}
	}
	level, _ := inventory.ParseStrength(aq.Level)
	var rows []*inventory.AccountSummary
	for i := range snap.rows {
		a := &snap.rows[i]
		if aq.matches(a, level) && (onHost == nil || onHost[a.Key]) {
			rows = append(rows, a)
		}
	}
	if f == api.FormatCSV {
		out := make([]inventory.AccountSummary, len(rows))
		for i, a := range rows {
			out[i] = *a
		}
		return respond(w, r, f, nil, func(w io.Writer) error { return render.Accounts(w, out, f) })
	}
	for _, c := range accountsColumns {
		if c.key == aq.Sort {
			// Equals stay in the snapshot's order, tier then key.
			slices.SortFunc(rows, func(a, b *inventory.AccountSummary) int {
				if aq.Desc {
					a, b = b, a
				}
				return cmp.Or(c.less(a, b), cmp.Compare(a.Tier, b.Tier), strings.Compare(a.Key, b.Key))
			})
		}
	}
	d := accountsData{Query: aq, Total: len(rows), Pages: max(1, (len(rows)+accountsPageSize-1)/accountsPageSize),
		Tiers: []int{1, 2, 3, 4}, Levels: inventory.Strengths, Statuses: []inventory.Status{inventory.StatusStatic,
			inventory.StatusException, inventory.StatusEnrolled, inventory.StatusManaged, inventory.StatusLapsed, inventory.StatusNone}}
	d.Page = min(aq.Page, d.Pages)
	start := (d.Page - 1) * accountsPageSize
	d.Rows = rows[start:min(start+accountsPageSize, len(rows))]
	d.ListedAt = snap.at
	if len(d.Rows) > 0 {
		d.First, d.Last = start+1, start+len(d.Rows)
	}
	if d.Page > 1 {
		p := aq
		p.Page = d.Page - 1
		d.Prev = p.url()
	}
	if d.Page < d.Pages {
		p := aq
		p.Page = d.Page + 1
		d.Next = p.url()
	}
	csv := aq.values()
	csv.Del("page")
	csv.Set("format", "csv")
	d.CSV = "/accounts?" + csv.Encode()
	for _, c := range accountsColumns {
		col := accountsColumn{Label: c.label}
		p := aq
		p.Page, p.Sort, p.Desc = 1, c.key, false
		if c.key == aq.Sort {
			col.Sorted = "ascending"
			if aq.Desc {
				col.Sorted = "descending"
			}
			p.Desc = !aq.Desc
		}
		col.URL = p.url()
		d.Columns = append(d.Columns, col)
	}
	return s.render(w, r, http.StatusOK, "accounts", d)
}
