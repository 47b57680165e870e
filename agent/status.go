package agent

import (
	"errors"
	"io/fs"
	"strconv"
	"time"
)

// Identity states reported by [ReadStatus].
const (
	StateOK      = "ok"      // valid certificate, last renewal (if any) fine
	StateFailing = "failing" // valid certificate, the last renewal failed; retrying
	StateRefused = "refused" // valid certificate, the server refused to renew it
	StateExpired = "expired" // the certificate expired: needs re-enrollment
	StateMissing = "missing" // no readable certificate: needs enrollment
)

// IdentityStatus is what `roster-agent status` shows for one identity.
type IdentityStatus struct {
	Name        string    `json:"name"`
	Dir         string    `json:"dir"`
	State       string    `json:"state"`
	Identity    string    `json:"identity,omitempty"` // URI SAN
	Serial      string    `json:"serial,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	NextRenewal time.Time `json:"next_renewal,omitzero"`
	LastRenewal time.Time `json:"last_renewal,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	ReloadError string    `json:"reload_error,omitempty"`
	// Hint says what to do when the identity needs enrolling again, or
	// about its last failed renewal.
	Hint string `json:"hint,omitempty"`
	// SSH is the SSH user certificate's status, for an identity with an
	// ssh section.
	SSH *SSHCertStatus `json:"ssh,omitempty"`
}

// SSHCertStatus is what `roster-agent status` shows for an identity's SSH
// user certificate. State is one of the identity states.
type SSHCertStatus struct {
	State       string    `json:"state"`
	File        string    `json:"file"`
	Serial      string    `json:"serial,omitempty"`
	KeyID       string    `json:"key_id,omitempty"`
	Principals  []string  `json:"principals,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	NextRenewal time.Time `json:"next_renewal,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Healthy reports whether the identity holds a certificate that is valid
// and that the server still renews, and so does its SSH certificate when
// it has one.
func (s IdentityStatus) Healthy() bool {
	ok := func(state string) bool { return state == StateOK || state == StateFailing }
	return ok(s.State) && (s.SSH == nil || ok(s.SSH.State))
}

// ReadStatus reads each identity's cert.pem and status.json, as written by
// a running agent, and judges them at now. It only reads: it needs no key
// and does not change the directories.
func ReadStatus(cfg Config, now time.Time) []IdentityStatus {
	out := make([]IdentityStatus, 0, len(cfg.Identities))
	for _, id := range cfg.Identities {
		s := readOne(id, now)
		if id.SSH != nil {
			s.SSH = readSSHStatus(id, now)
		}
		out = append(out, s)
	}
	return out
}

// readSSHStatus reads an identity's SSH certificate and the SSH part of
// its status.json.
func readSSHStatus(id Identity, now time.Time) *SSHCertStatus {
	f := sshPaths(id.Dir, id.SSH.KeyType)
	s := &SSHCertStatus{File: f.cert}
	store := &DirStore{dir: id.Dir}
	st, stErr := store.LoadStatus()
	cert, err := readSSHCert(f.cert)
	if err != nil {
		s.State = StateMissing
		s.LastError = err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			s.LastError = "no SSH certificate yet: " + f.cert
		}
		if stErr == nil && st.SSH.LastError != "" {
			s.LastError = st.SSH.LastError
		}
		return s
	}
	s.Serial, s.KeyID, s.Principals = strconv.FormatUint(cert.Serial, 10), cert.KeyId, cert.ValidPrincipals
	s.NotAfter = certTime(cert.ValidBefore)
	fresh := stErr == nil && st.SSH.Serial == s.Serial
	switch {
	case !now.Before(s.NotAfter):
		s.State, s.LastError = StateExpired, "SSH certificate expired"
		if fresh && st.SSH.LastError != "" {
			s.LastError += ": " + st.SSH.LastError
		}
	case fresh && st.SSH.Refused:
		s.State, s.LastError, s.NextRenewal = StateRefused, st.SSH.LastError, st.SSH.NextRenewal
	case fresh && st.SSH.LastError != "":
		s.State, s.LastError, s.NextRenewal = StateFailing, st.SSH.LastError, st.SSH.NextRenewal
	default:
		s.State = StateOK
		if fresh {
			s.NextRenewal = st.SSH.NextRenewal
		}
	}
	return s
}

func readOne(id Identity, now time.Time) IdentityStatus {
	s := IdentityStatus{Name: id.Name, Dir: id.Dir}
	store := &DirStore{dir: id.Dir}
	st, stErr := store.LoadStatus()
	if stErr == nil {
		s.NextRenewal, s.LastRenewal, s.LastError, s.ReloadError = st.NextRenewal, st.LastRenewal, st.LastError, st.ReloadError
	} else if !errors.Is(stErr, fs.ErrNotExist) {
		s.LastError = stErr.Error()
	}
	chain, err := store.readChain()
	if err != nil {
		s.State = StateMissing
		if errors.Is(err, fs.ErrNotExist) {
			s.LastError = "not enrolled: no " + store.path(CertFile)
			s.Hint = reenrollHint(nil, id)
		} else {
			s.LastError = err.Error()
		}
		return s
	}
	leaf := chain[0]
	s.Identity, s.Serial, s.NotAfter = identityURI(leaf.URIs), Serial(leaf), leaf.NotAfter
	// status.json may describe an older certificate (re-enrolled since).
	fresh := stErr == nil && st.Serial == s.Serial
	switch {
	case !now.Before(leaf.NotAfter):
		s.State = StateExpired
		s.NextRenewal = time.Time{}
		s.LastError = "certificate expired: needs re-enrollment"
		s.Hint = reenrollHint(leaf, id)
	case fresh && st.Refused:
		s.State = StateRefused
		s.Hint = st.Hint
	case fresh && st.LastError != "":
		s.State = StateFailing
		s.Hint = st.Hint
	default:
		s.State = StateOK
		if !fresh {
			s.NextRenewal, s.LastError, s.ReloadError = time.Time{}, "", ""
		}
	}
	return s
}
