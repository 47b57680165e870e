package agent

import (
	"errors"
	"io/fs"
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
}

// Healthy reports whether the identity holds a certificate that is valid
// and that the server still renews.
func (s IdentityStatus) Healthy() bool { return s.State == StateOK || s.State == StateFailing }

// ReadStatus reads each identity's cert.pem and status.json, as written by
// a running agent, and judges them at now. It only reads: it needs no key
// and does not change the directories.
func ReadStatus(cfg Config, now time.Time) []IdentityStatus {
	out := make([]IdentityStatus, 0, len(cfg.Identities))
	for _, id := range cfg.Identities {
		out = append(out, readOne(id, now))
	}
	return out
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
