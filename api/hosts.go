package api

import "time"

// Host is one entry of GET /v1/hosts.
type Host struct {
	// ID is the inventory's own stable key for the host.
	ID        string    `json:"id"`
	Hostname  string    `json:"hostname"`
	MachineID string    `json:"machine_id,omitempty"`
	OS        OS        `json:"os"`
	Tags      []string  `json:"tags,omitempty"`
	Env       string    `json:"env"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// LastScan is the scanned_at of the newest report ingested.
	LastScan time.Time `json:"last_scan,omitzero"`
	// Accounts counts the account instances still present on the host.
	Accounts int `json:"accounts"`
	// Cert is the host identity's certificate, if one was issued.
	Cert *CertState `json:"cert,omitempty"`
}

// OS is the host's operating system as its os-release names it.
type OS struct {
	ID         string `json:"id,omitempty"`
	IDLike     string `json:"id_like,omitempty"`
	VersionID  string `json:"version_id,omitempty"`
	PrettyName string `json:"pretty_name,omitempty"`
}

// HostDetail is the body of GET /v1/hosts/{host}: a host with its account
// instances.
type HostDetail struct {
	Host
	Instances []Instance `json:"instances"`
}
