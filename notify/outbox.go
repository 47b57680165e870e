package notify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/store"
)

const (
	tSeen = "notifyseen"
	tOut  = "notifyout"
	tMeta = "notifymeta"
)

var kCount = []byte("count")

// Defaults of [Config].
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 30
	DefaultMaxAge      = 24 * time.Hour
	DefaultBaseDelay   = 2 * time.Second
	DefaultMaxDelay    = time.Hour
	DefaultMaxOutbox   = 10000
	// keepFailed is how long a failed delivery stays listed.
	keepFailed = 7 * 24 * time.Hour
	// maxIDLen bounds a notice ID (it is a key).
	maxIDLen = 512
)

// ErrFull is returned by [Outbox.Enqueue] when Config.MaxOutbox deliveries
// wait already.
var ErrFull = errors.New("notify: outbox full")

// Config is what [New] builds an Outbox from. Zero fields take the
// Default* values.
type Config struct {
	Store store.Store
	// URLs are the webhooks, http or https; every notice goes to each.
	URLs []string
	// Secret, if set, signs every post (X-Roster-Signature).
	Secret []byte
	Logger *slog.Logger
	// Now is the clock of attempts and backoff (default time.Now).
	Now func() time.Time
	// Timeout bounds one post, from connecting to the end of the response.
	Timeout time.Duration
	// MaxAttempts and MaxAge end a delivery's retries: it is then failed.
	MaxAttempts int
	MaxAge      time.Duration
	// BaseDelay is the first retry's delay, doubled on each failure up to
	// MaxDelay (see Backoff).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxOutbox bounds the deliveries kept (pending and failed).
	MaxOutbox int
}

// Outbox queues notices in the store and delivers them; see the package
// documentation.
type Outbox struct {
	cfg    Config
	urls   []string
	log    *slog.Logger
	client *http.Client
	kick   chan struct{}
}

// New validates cfg's URLs (see [ValidateURL]) and returns the Outbox. An
// Outbox with no URL queues nothing.
func New(cfg Config) (*Outbox, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: Store is required")
	}
	for _, u := range cfg.URLs {
		if err := ValidateURL(u); err != nil {
			return nil, err
		}
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, DefaultMaxAge)
	cfg.BaseDelay = cmp.Or(cfg.BaseDelay, DefaultBaseDelay)
	cfg.MaxDelay = cmp.Or(cfg.MaxDelay, DefaultMaxDelay)
	cfg.MaxOutbox = cmp.Or(cfg.MaxOutbox, DefaultMaxOutbox)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Outbox{cfg: cfg, urls: slices.Compact(slices.Sorted(slices.Values(cfg.URLs))), log: cmp.Or(cfg.Logger, slog.Default()),
		kick: make(chan struct{}, 1)}
	o.client = &http.Client{
		Timeout:   cfg.Timeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// Never follow a redirect: a 3xx is a failed attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return o, nil
}

// ValidateURL accepts an absolute http or https URL with a host and no
// fragment.
func ValidateURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("webhook URL %q: %w", Redact(s), errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("webhook URL %q: want an http:// or https:// URL", Redact(s))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("webhook URL %q: no host", Redact(s))
	case u.Fragment != "":
		return fmt.Errorf("webhook URL %q: a fragment (#...) is never sent", Redact(s))
	}
	return nil
}

// Redact shows a webhook URL as scheme and host only (a path or query may
// hold a credential, as many chat webhooks' do).
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

// Webhooks is the number of URLs notices go to.
func (o *Outbox) Webhooks() int {
	if o == nil {
		return 0
	}
	return len(o.urls)
}

// delivery is one notice to one URL (table notifyout).
type delivery struct {
	ID          string    `json:"id"`
	EventID     string    `json:"event_id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	Body        []byte    `json:"body"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Delivery states. A delivered delivery leaves the outbox.
const (
	statePending = "pending"
	stateFailed  = "failed"
)

// deliveryID is the stable ID of notice eventID's delivery to u.
func deliveryID(eventID, u string) string {
	h := sha256.Sum256([]byte(eventID + "\x00" + u))
	return "d-" + hex.EncodeToString(h[:12])
}

// Enqueue queues n for every webhook in tx, the caller's transaction, and
// reports whether it did: false when n.ID was queued before (never again)
// or there is no webhook. It returns ErrFull, recording nothing, when the
// outbox is full. Call [Outbox.Kick] after the transaction commits so
// that the worker posts at once.
func (o *Outbox) Enqueue(tx store.Tx, n api.Notice) (bool, error) {
	if len(o.urls) == 0 {
		return false, nil
	}
	if n.ID == "" || len(n.ID) > maxIDLen || strings.ContainsRune(n.ID, 0) {
		return false, fmt.Errorf("notify: notice ID %q: empty, longer than %d bytes or holding a NUL", n.ID, maxIDLen)
	}
	seen, err := tx.Get(tSeen, []byte(n.ID))
	if err != nil || seen != nil {
		return false, err
	}
	count, err := outboxCount(tx)
	if err != nil {
		return false, err
	}
	if count+len(o.urls) > o.cfg.MaxOutbox {
		return false, fmt.Errorf("notice %s: %w (%d deliveries wait)", n.ID, ErrFull, count)
	}
	body, err := json.Marshal(n)
	if err != nil {
		return false, fmt.Errorf("notice %s: %w", n.ID, err)
	}
	now := o.cfg.Now().UTC()
	for _, u := range o.urls {
		d := delivery{ID: deliveryID(n.ID, u), EventID: n.ID, Kind: n.Kind, URL: u, Body: body, State: statePending,
			Created: now, NextAttempt: now}
		if err := putDelivery(tx, d); err != nil {
			return false, err
		}
	}
	if err := tx.Put(tSeen, []byte(n.ID), []byte(now.Format(time.RFC3339))); err != nil {
		return false, err
	}
	return true, setOutboxCount(tx, count+len(o.urls))
}

// Kick wakes the worker: something was queued.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

func outboxCount(tx store.Tx) (int, error) {
	v, err := tx.Get(tMeta, kCount)
	if err != nil || v == nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("notify: %s %s: corrupt count %q", tMeta, kCount, v)
	}
	return n, nil
}

func setOutboxCount(tx store.Tx, n int) error {
	return tx.Put(tMeta, kCount, []byte(strconv.Itoa(max(n, 0))))
}

func putDelivery(tx store.Tx, d delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Put(tOut, []byte(d.ID), b)
}

func getDelivery(tx store.Tx, id string) (*delivery, error) {
	b, err := tx.Get(tOut, []byte(id))
	if err != nil || b == nil {
		return nil, err
	}
	d := new(delivery)
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("notify: %s %s: %w", tOut, id, err)
	}
	return d, nil
}

// removeDelivery deletes delivery id and counts it out.
func removeDelivery(tx store.Tx, id string) error {
	if err := tx.Delete(tOut, []byte(id)); err != nil {
		return err
	}
	n, err := outboxCount(tx)
	if err != nil {
		return err
	}
	return setOutboxCount(tx, n-1)
}

// all reads every delivery in the outbox (at most Config.MaxOutbox).
func (o *Outbox) all(ctx context.Context) ([]delivery, error) {
	var out []delivery
	err := o.cfg.Store.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		return tx.Scan(tOut, nil, func(k, b []byte) error {
			var d delivery
			if err := json.Unmarshal(b, &d); err != nil {
				return fmt.Errorf("notify: %s %s: %w", tOut, k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Delivery is one notice to one webhook as [Outbox.List] shows it: no
// body, the URL redacted.
type Delivery struct {
	ID          string    `json:"id"`
	EventID     string    `json:"event_id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	State       string    `json:"state"` // pending or failed
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// List returns the deliveries waiting or failed, oldest first, without
// their bodies; URLs are redacted.
func (o *Outbox) List(ctx context.Context) ([]Delivery, error) {
	all, err := o.all(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: list outbox: %w", err)
	}
	out := make([]Delivery, 0, len(all))
	for _, d := range all {
		out = append(out, Delivery{ID: d.ID, EventID: d.EventID, Kind: d.Kind, URL: Redact(d.URL), State: d.State,
			Attempts: d.Attempts, Created: d.Created, NextAttempt: d.NextAttempt, LastError: d.LastError})
	}
	slices.SortStableFunc(out, func(a, b Delivery) int { return a.Created.Compare(b.Created) })
	return out, nil
}
