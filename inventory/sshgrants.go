package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// SSH login grants and SSH policy (issue 11, "Who may log in where").
//
// A grant lets the service account Identity (NAME@ENV) log in as the local
// account As on one host (Host) or on every host of an environment (Env):
// the target's sshd lists Identity in its principals file for As
// (AuthorizedPrincipalsFile .../principals/%u), and the identity's SSH user
// certificates carry Identity as their one principal. Both sides need an
// owner: the identity's service account, and the service account of As on
// the target when the inventory knows it.
//
// An SSH policy says which extensions an account's SSH user certificates
// carry; none by default (no pty, no port, agent or X11 forwarding, no user
// rc: a service account runs commands).

// SSHGrant is one grant.
type SSHGrant struct {
	Identity  string    `json:"identity"` // service account key NAME@ENV
	As        string    `json:"as"`       // local account on the target
	Host      string    `json:"host,omitempty"`
	Env       string    `json:"env,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// Target is "host H" or "env E".
func (g SSHGrant) Target() string {
	if g.Host != "" {
		return "host " + g.Host
	}
	return "env " + g.Env
}

func (g SSHGrant) key() []byte {
	kind, target := "host", g.Host
	if g.Host == "" {
		kind, target = "env", g.Env
	}
	return store.Join(kind, target, g.As, g.Identity)
}

// SSHGrantSpec is what [Inventory.AllowSSH] and [Inventory.DenySSH] take:
// the identity as an operator names it (NAME or NAME@ENV), the local
// account, and exactly one of Host and Env.
type SSHGrantSpec struct {
	Identity string
	As       string
	Host     string
	Env      string
}

// validLoginName reports whether s can be a local account name on a target:
// it names a file in the agent's principals directory, so letters, digits,
// '.', '_', '-' (and a final '$'), not starting with '-' or '.', at most 64.
func validLoginName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		case c == '$' && i == len(s)-1:
		default:
			return false
		}
	}
	return true
}

func (sp SSHGrantSpec) check() error {
	switch {
	case sp.Identity == "":
		return &InvalidError{Field: "identity", Reason: "missing"}
	case !validLoginName(sp.As):
		return &InvalidError{Field: "as", Reason: fmt.Sprintf("%q is not a local account name (letters, digits, '.', '_', '-')", sp.As)}
	case (sp.Host == "") == (sp.Env == ""):
		return &InvalidError{Field: "target", Reason: "give exactly one of host and env",
			HintText: "roster ssh allow IDENTITY --as ACCOUNT --on HOST, or --env ENV"}
	case sp.Env != "" && (!validName(sp.Env) || strings.ContainsAny(sp.Env, "@ \t\n")):
		return &InvalidError{Field: "env", Reason: fmt.Sprintf("%q is not an environment name", sp.Env)}
	}
	return nil
}

// resolveGrant resolves the spec's identity and target in tx and checks
// both owners. It returns the grant as it would be stored.
func resolveGrant(tx store.Tx, sp SSHGrantSpec, owners bool) (SSHGrant, error) {
	if err := sp.check(); err != nil {
		return SSHGrant{}, err
	}
	id, err := resolveAccount(tx, sp.Identity)
	if err != nil {
		return SSHGrant{}, err
	}
	g := SSHGrant{Identity: id.Key, As: sp.As, Env: sp.Env}
	var target *saRecord
	if sp.Host != "" {
		h, err := findHost(tx, sp.Host)
		if err != nil {
			return SSHGrant{}, &InvalidError{Field: "host", Reason: fmt.Sprintf("host %s is not in the inventory", sp.Host),
				HintText: fmt.Sprintf("scan it first: roster scan --submit on %s", sp.Host)}
		}
		g.Host = h.Hostname
		var ir instRecord
		ok, err := getInst(tx, store.Join(h.ID, sp.As), &ir)
		if err != nil {
			return SSHGrant{}, err
		}
		if ok {
			if target, err = getSA(tx, ir.SA); err != nil {
				return SSHGrant{}, err
			}
		}
	} else {
		var r saRecord
		ok, err := getJSON(tx, tSA, []byte(sp.As+"@"+sp.Env), &r)
		if err != nil {
			return SSHGrant{}, err
		}
		if ok {
			target = &r
		}
	}
	if !owners {
		return g, nil
	}
	if id.Owner == nil || id.Owner.Name == "" {
		return SSHGrant{}, &InvalidError{Field: "identity", Reason: fmt.Sprintf("account %s has no owner", id.Key),
			HintText: fmt.Sprintf("roster owner set %s OWNER", id.Key)}
	}
	if target != nil && (target.Owner == nil || target.Owner.Name == "") {
		return SSHGrant{}, &InvalidError{Field: "as", Reason: fmt.Sprintf("account %s (the login account %s on %s) has no owner", target.Key, sp.As, g.Target()),
			HintText: fmt.Sprintf("roster owner set %s OWNER", target.Key)}
	}
	return g, nil
}

// AllowSSH adds a grant (see [SSHGrant]); granting again what is granted
// changes nothing and returns the existing grant. Audited as ssh.allow.
func (inv *Inventory) AllowSSH(ctx context.Context, sp SSHGrantSpec) (SSHGrant, error) {
	actor, now := audit.Actor(ctx), inv.now()
	var out SSHGrant
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		g, err := resolveGrant(tx, sp, true)
		if err != nil {
			return err
		}
		var old SSHGrant
		ok, err := getJSON(tx, tSSHGrant, g.key(), &old)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%s may log in as %s on %s", g.Identity, g.As, g.Target())
		if ok {
			out = old
			detail += " (already granted)"
		} else {
			g.CreatedAt, g.CreatedBy = now.UTC(), actor
			if err := putJSON(tx, tSSHGrant, g.key(), g); err != nil {
				return err
			}
			out = g
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionSSHAllow, Host: g.Host,
			Account: g.Identity, Outcome: audit.OutcomeOK, Detail: detail})
	})
	if err != nil {
		return SSHGrant{}, fmt.Errorf("ssh allow %s: %w", sp.Identity, err)
	}
	return out, nil
}

// DenySSH removes a grant; a grant that does not exist is ErrNotFound.
// Owners are not checked: taking a right away never needs one. Audited as
// ssh.deny.
func (inv *Inventory) DenySSH(ctx context.Context, sp SSHGrantSpec) (SSHGrant, error) {
	actor, now := audit.Actor(ctx), inv.now()
	var out SSHGrant
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		g, err := resolveGrant(tx, sp, false)
		if err != nil {
			return err
		}
		ok, err := getJSON(tx, tSSHGrant, g.key(), &out)
		if err != nil {
			return err
		}
		if !ok {
			return &notGranted{g: g}
		}
		if err := tx.Delete(tSSHGrant, g.key()); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionSSHDeny, Host: g.Host,
			Account: g.Identity, Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("%s may no longer log in as %s on %s", g.Identity, g.As, g.Target())})
	})
	if err != nil {
		return SSHGrant{}, fmt.Errorf("ssh deny %s: %w", sp.Identity, err)
	}
	return out, nil
}

// notGranted is DenySSH of a grant that does not exist.
type notGranted struct{ g SSHGrant }

func (e *notGranted) Error() string {
	return fmt.Sprintf("%s is not granted to log in as %s on %s", e.g.Identity, e.g.As, e.g.Target())
}
func (e *notGranted) Unwrap() error { return ErrNotFound }
func (e *notGranted) Hint() string  { return "list the grants: roster ssh grants" }

// SSHGrants lists the grants, sorted by target, account and identity. With
// host set, only those that apply to that host: its own and its
// environment's.
func (inv *Inventory) SSHGrants(ctx context.Context, host string) ([]SSHGrant, error) {
	out := []SSHGrant{}
	err := inv.store.View(ctx, func(tx store.Tx) error {
		var prefixes [][]byte
		if host != "" {
			h, err := findHost(tx, host)
			if err != nil {
				return err
			}
			prefixes = [][]byte{store.Prefix("host", h.Hostname), store.Prefix("env", h.Env)}
		} else {
			prefixes = [][]byte{nil}
		}
		for _, p := range prefixes {
			if err := tx.Scan(tSSHGrant, p, func(k, b []byte) error {
				var g SSHGrant
				if err := jsonUnmarshal(tSSHGrant, k, b, &g); err != nil {
					return err
				}
				out = append(out, g)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ssh grants: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Host != b.Host {
			return a.Host > b.Host // host grants first
		}
		return a.Env+"\x00"+a.As+"\x00"+a.Identity < b.Env+"\x00"+b.As+"\x00"+b.Identity
	})
	return out, nil
}

// SSHPrincipals is what a host's sshd accepts: per local account, the
// sorted, distinct principals (identity keys NAME@ENV) granted on the host
// or on its environment. It returns the host's inventory name too. An
// unknown host is ErrNotFound.
func (inv *Inventory) SSHPrincipals(ctx context.Context, host string) (string, map[string][]string, error) {
	name := host
	err := inv.store.View(ctx, func(tx store.Tx) error {
		h, err := findHost(tx, host)
		if err != nil {
			return err
		}
		name = h.Hostname
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("ssh principals: %w", err)
	}
	gs, err := inv.SSHGrants(ctx, name)
	if err != nil {
		return "", nil, err
	}
	out := map[string][]string{}
	for _, g := range gs {
		if !slices.Contains(out[g.As], g.Identity) {
			out[g.As] = append(out[g.As], g.Identity)
		}
	}
	for _, p := range out {
		sort.Strings(p)
	}
	return name, out, nil
}

// SSHPolicy is what an account's SSH user certificates may do beyond
// running a command: the extensions named in Permit ([SSHPermits]'s
// names). The zero value permits nothing.
type SSHPolicy struct {
	Account string    `json:"account"`
	Permit  []string  `json:"permit"`
	SetAt   time.Time `json:"set_at,omitzero"`
	SetBy   string    `json:"set_by,omitempty"`
}

// SSHPermits maps the names `roster ssh policy --permit` takes to the
// OpenSSH certificate extensions they allow.
var SSHPermits = map[string]string{
	"pty":              "permit-pty",
	"port-forwarding":  "permit-port-forwarding",
	"agent-forwarding": "permit-agent-forwarding",
	"x11-forwarding":   "permit-X11-forwarding",
	"user-rc":          "permit-user-rc",
}

// Extensions is the certificate extensions the policy permits.
func (p SSHPolicy) Extensions() map[string]string {
	out := map[string]string{}
	for _, n := range p.Permit {
		if ext, ok := SSHPermits[n]; ok {
			out[ext] = ""
		}
	}
	return out
}

// ErrNoSourceAddress: the inventory records no addresses of hosts, so a
// policy cannot ask for the source-address critical option.
var ErrNoSourceAddress = errors.New("the inventory records no host addresses")

// SetSSHPolicy sets what account's SSH user certificates permit (names of
// [SSHPermits]; none, or "none" alone, clears it). sourceAddress asks for
// the source-address critical option, which is refused: scans record no
// host addresses to restrict it to. Audited as ssh.policy.
func (inv *Inventory) SetSSHPolicy(ctx context.Context, account string, permit []string, sourceAddress bool) (SSHPolicy, error) {
	if sourceAddress {
		return SSHPolicy{}, &InvalidError{Field: "source_address", Reason: ErrNoSourceAddress.Error() +
			" (scans do not report them), so a source-address option cannot be honoured",
			HintText: "set the policy without --source-address: roster ssh policy ACCOUNT --permit NAMES"}
	}
	var names []string
	for _, n := range permit {
		n = strings.TrimSpace(n)
		switch {
		case n == "" || n == "none":
			continue
		case SSHPermits[n] == "":
			known := make([]string, 0, len(SSHPermits))
			for k := range SSHPermits {
				known = append(known, k)
			}
			sort.Strings(known)
			return SSHPolicy{}, &InvalidError{Field: "permit", Reason: fmt.Sprintf("%q is not one of %s, none", n, strings.Join(known, ", "))}
		case !slices.Contains(names, n):
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out SSHPolicy
	err := inv.mutateAccount(ctx, account, audit.ActionSSHPolicy, func(st *txState, r *saRecord, now time.Time) (string, error) {
		out = SSHPolicy{Account: r.Key, Permit: names, SetAt: now.UTC(), SetBy: audit.Actor(ctx)}
		if names == nil {
			out.Permit = []string{}
			return "permit none", st.tx.Delete(tSSHPolicy, []byte(r.Key))
		}
		return "permit " + strings.Join(names, ","), putJSON(st.tx, tSSHPolicy, []byte(r.Key), out)
	})
	if err != nil {
		return SSHPolicy{}, err
	}
	return out, nil
}

// SSHPolicyOf returns the SSH policy of the service account key (NAME@ENV);
// the zero policy (Permit empty) when none was set.
func (inv *Inventory) SSHPolicyOf(ctx context.Context, key string) (SSHPolicy, error) {
	p := SSHPolicy{Account: key, Permit: []string{}}
	err := inv.store.View(ctx, func(tx store.Tx) error {
		_, err := getJSON(tx, tSSHPolicy, []byte(key), &p)
		return err
	})
	if err != nil {
		return SSHPolicy{}, fmt.Errorf("ssh policy %s: %w", key, err)
	}
	return p, nil
}

// SSHMigration is what `roster ssh migrate` needs to print the steps that
// move a local account on a host from static authorized_keys entries to
// roster SSH certificates: the entries the newest scan found, and for each
// the holders of its private key the inventory knows (the clients that log
// in with it; their service account keys are the principals to grant).
type SSHMigration struct {
	Account        string            `json:"account"`         // local account name on Host
	ServiceAccount string            `json:"service_account"` // its service account key NAME@ENV
	Host           string            `json:"host"`
	Env            string            `json:"env"`
	Keys           []SSHMigrationKey `json:"keys"`
	// Grants already let these identities log in as Account on Host.
	Granted []string `json:"granted"`
}

// SSHMigrationKey is one authorized_keys entry.
type SSHMigrationKey struct {
	Location    string      `json:"location"` // PATH:LINE
	Fingerprint string      `json:"fingerprint"`
	Algorithm   string      `json:"algorithm,omitempty"`
	Clients     []SSHClient `json:"clients"`
}

// SSHClient holds the private key of an authorized_keys entry.
type SSHClient struct {
	Host           string `json:"host"`
	Account        string `json:"account"`
	ServiceAccount string `json:"service_account"`
}

// maxMigrationClients bounds the clients listed per key.
const maxMigrationClients = 20

// SSHMigration describes the static SSH keys of the local account on host
// (ACCOUNT, or NAME@ENV of its service account). An unknown host or
// account is ErrNotFound.
func (inv *Inventory) SSHMigration(ctx context.Context, account, host string) (*SSHMigration, error) {
	name, _ := splitKey(account)
	var m *SSHMigration
	err := inv.store.View(ctx, func(tx store.Tx) error {
		h, err := findHost(tx, host)
		if err != nil {
			return err
		}
		var ir instRecord
		ok, err := getInst(tx, store.Join(h.ID, name), &ir)
		if err != nil {
			return err
		}
		if !ok {
			return &notOnHost{account: name, host: h.Hostname}
		}
		in, err := loadInstance(tx, h.ID, name)
		if err != nil {
			return err
		}
		m = &SSHMigration{Account: name, ServiceAccount: in.ServiceAccount, Host: h.Hostname, Env: h.Env, Keys: []SSHMigrationKey{}, Granted: []string{}}
		if in.GoneAt == nil {
			for _, c := range in.Data.Credentials {
				if c.Type != scan.CredSSHAuthorizedKey {
					continue
				}
				k := SSHMigrationKey{Location: c.Location, Fingerprint: c.Fingerprint, Algorithm: c.Algorithm, Clients: []SSHClient{}}
				if err := tx.Scan(tFP, store.Prefix(fpKey(c.Fingerprint)), func(key, v []byte) error {
					p, vp := store.Split(key), store.Split(v)
					if len(p) != 3 || len(vp) != 2 || vp[0] != scan.CredSSHPrivateKey {
						return nil
					}
					var hr hostRecord
					if _, err := getJSON(tx, tHosts, []byte(p[1]), &hr); err != nil {
						return err
					}
					k.Clients = append(k.Clients, SSHClient{Host: hr.Hostname, Account: p[2], ServiceAccount: vp[1]})
					if len(k.Clients) == maxMigrationClients {
						return store.ErrStop
					}
					return nil
				}); err != nil && !errors.Is(err, store.ErrStop) {
					return err
				}
				m.Keys = append(m.Keys, k)
			}
		}
		for _, prefix := range [][]byte{store.Prefix("host", h.Hostname, name), store.Prefix("env", h.Env, name)} {
			if err := tx.Scan(tSSHGrant, prefix, func(key, _ []byte) error {
				if id := store.Split(key)[3]; !slices.Contains(m.Granted, id) {
					m.Granted = append(m.Granted, id)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		sort.Strings(m.Granted)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ssh migrate %s on %s: %w", account, host, err)
	}
	return m, nil
}

// notOnHost: the account has no instance on the host.
type notOnHost struct{ account, host string }

func (e *notOnHost) Error() string {
	return fmt.Sprintf("account %s does not exist on host %s", e.account, e.host)
}
func (e *notOnHost) Unwrap() error { return ErrNotFound }
func (e *notOnHost) Hint() string {
	return "check the name: roster accounts list --host " + e.host
}
