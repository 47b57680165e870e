package server

import (
	"encoding/json"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
)

// The inventory's and the issuer's values become api types here, field by
// field, so that the wire format is the api package's and not whatever the
// inventory stores. TestConvertKeepsEveryField (convert_test.go) fails when
// a field of the inventory's types has no counterpart in api.

// mapSlice converts each element; nil stays nil (JSON null), as the
// inventory's own encoding has it.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// nonNil returns items, or an empty list for nil: a list read answers []
// rather than null.
func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

func apiOwner(o *inventory.Owner) *api.Owner {
	if o == nil {
		return nil
	}
	return &api.Owner{Name: o.Name, Contact: o.Contact}
}

func apiCert(c *inventory.CertState) *api.CertState {
	if c == nil {
		return nil
	}
	return &api.CertState{Serial: c.Serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter, IssuedAt: c.IssuedAt,
		LastRenewal: c.LastRenewal, Managed: c.Managed, RevokedAt: c.RevokedAt,
		Previous: c.Previous, ReuseDetectedAt: c.ReuseDetectedAt, ReuseSerial: c.ReuseSerial}
}

func apiSummary(a inventory.AccountSummary) api.AccountSummary {
	return api.AccountSummary{
		Key: a.Key, Name: a.Name, Env: a.Env, Instances: a.Instances, Hosts: a.Hosts, Owner: apiOwner(a.Owner),
		Tier: int(a.Tier), TierReason: a.TierReason, TierOverride: a.TierOverride, Strength: a.Strength.Name(), StrengthBy: a.StrengthBy,
		Status: string(a.Status), Static: a.Static, Privileged: a.Privileged, SharedAcrossEnvs: a.SharedAcrossEnvs, PendingReview: a.PendingReview,
		Retired: a.Retired, Human: a.Human, System: a.System, Directory: a.Directory, KindOverride: a.KindOverride, Tags: a.Tags, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen,
		Purpose: a.Purpose, PurposeFrom: a.PurposeFrom, Registered: apiRegistration(a.Registered),
	}
}

func apiInstance(in inventory.Instance) (api.Instance, error) {
	data, err := json.Marshal(in.Data)
	if err != nil {
		return api.Instance{}, err
	}
	return api.Instance{Host: in.Host, HostID: in.HostID, Account: in.Account, ServiceAccount: in.ServiceAccount,
		Data: data, FirstSeen: in.FirstSeen, LastSeen: in.LastSeen, GoneAt: in.GoneAt, Cert: apiCert(in.Cert)}, nil
}

func apiInstances(ins []inventory.Instance) ([]api.Instance, error) {
	if ins == nil {
		return nil, nil
	}
	out := make([]api.Instance, len(ins))
	for i, in := range ins {
		var err error
		if out[i], err = apiInstance(in); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func apiAccount(a *inventory.Account) (*api.Account, error) {
	ins, err := apiInstances(a.Instances)
	if err != nil {
		return nil, err
	}
	return &api.Account{AccountSummary: apiSummary(a.AccountSummary), Instances: ins,
		Exceptions: mapSlice(a.Exceptions, apiException), SharedFingerprints: a.SharedFingerprints, SSHPermit: a.SSHPermit,
		DirectoryEntries: mapSlice(a.DirectoryEntries, apiDirectoryEntry)}, nil
}

func apiDirectoryEntry(d inventory.DirectoryEntry) api.DirectoryEntry {
	return api.DirectoryEntry{Domain: d.Domain, DN: d.DN, ObjectClass: d.ObjectClass, SPNs: d.SPNs, Flags: d.Flags, Managed: d.Managed,
		AdminCount: d.AdminCount, LastLogon: d.LastLogon, Stale: d.Stale, PasswordLastSet: d.PasswordLastSet, PasswordAgeDays: d.PasswordAgeDays,
		PasswordNeverExpires: d.PasswordNeverExpires, PasswordScheme: d.PasswordScheme}
}

func apiException(e inventory.Exception) api.Exception {
	return api.Exception{ID: e.ID, Account: e.Account, Credential: e.Credential, Reason: e.Reason, Owner: e.Owner,
		Expires: e.Expires, Created: e.Created, CreatedBy: e.CreatedBy, Closed: e.Closed, ClosedBy: e.ClosedBy, CloseNote: e.CloseNote,
		Extensions: e.Extensions, Extends: e.Extends, BeyondPhase: e.BeyondPhase}
}

func apiEvent(e inventory.Event) api.Event {
	return api.Event{Time: e.Time, Account: e.Account, Kind: e.Kind, Host: e.Host, Detail: e.Detail, Actor: e.Actor}
}

func apiHost(h inventory.Host) api.Host {
	return api.Host{ID: h.ID, Hostname: h.Hostname, MachineID: h.MachineID,
		OS:   api.OS{ID: h.OS.ID, IDLike: h.OS.IDLike, VersionID: h.OS.VersionID, PrettyName: h.OS.PrettyName},
		Tags: h.Tags, Env: h.Env, FirstSeen: h.FirstSeen, LastSeen: h.LastSeen, LastScan: h.LastScan,
		Accounts: h.Accounts, Cert: apiCert(h.Cert)}
}

func apiHostDetail(h *inventory.HostDetail) (*api.HostDetail, error) {
	ins, err := apiInstances(h.Instances)
	if err != nil {
		return nil, err
	}
	return &api.HostDetail{Host: apiHost(h.Host), Instances: ins}, nil
}

func apiShared(c inventory.SharedCredential) api.SharedCredential {
	return api.SharedCredential{Fingerprint: c.Fingerprint, Type: c.Type, HolderCount: c.HolderCount,
		Holders:  mapSlice(c.Holders, func(h inventory.Holder) api.Holder { return api.Holder{Host: h.Host, Account: h.Account} }),
		Accounts: c.Accounts}
}

func apiPeople(p *inventory.PeopleStats) *api.PeopleStats {
	if p == nil {
		return nil
	}
	return &api.PeopleStats{Accounts: p.Accounts, ByStrength: p.ByStrength}
}

func apiReport(r *inventory.Report) *api.Report {
	return &api.Report{
		GeneratedAt:         r.GeneratedAt,
		OwnerlessPrivileged: mapSlice(r.OwnerlessPrivileged, apiSummary),
		NeedOwner:           mapSlice(r.NeedOwner, func(n inventory.OwnerNeeded) api.OwnerNeeded { return api.OwnerNeeded(n) }),
		Tiers: mapSlice(r.Tiers, func(t inventory.TierStats) api.TierStats {
			return api.TierStats{Tier: int(t.Tier), Name: t.Name, Accounts: t.Accounts, WithOwner: t.WithOwner,
				ShortLived: t.ShortLived, Managed: t.Managed, Lapsed: t.Lapsed, Static: t.Static, Covered: t.Covered,
				ExpiringExceptions: t.ExpiringExceptions, ExpiredExceptions: t.ExpiredExceptions, SharedSecrets: t.SharedSecrets,
				ByStrength: t.ByStrength, Target: t.Target.Name(), BelowTarget: t.BelowTarget, PhaseEnd: t.PhaseEnd, People: apiPeople(t.People),
				Operators: apiPeople(t.Operators)}
		}),
		Shared:             mapSlice(r.Shared, apiShared),
		ExpiredExceptions:  mapSlice(r.ExpiredExceptions, apiException),
		ExpiringExceptions: mapSlice(r.ExpiringExceptions, apiException),
		OverduePhases:      mapSlice(r.OverduePhases, apiPhase),
		OverExtended:       mapSlice(r.OverExtended, apiException),
		Retired:            r.Retired, Humans: r.Humans, System: r.System, Instances: r.Instances,
		PendingReview: mapSlice(r.PendingReview, func(p inventory.PendingReview) api.PendingReview { return api.PendingReview(p) }),
		Operators: mapSlice(r.Operators, func(o inventory.Operator) api.Operator {
			return api.Operator{Name: o.Name, Role: o.Role, Factor: o.Factor, Strength: o.Strength.Name(), Passkeys: o.Passkeys, LastPasskey: o.LastPasskey}
		}),
	}
}

func apiPasskey(p access.Passkey) api.Passkey {
	return api.Passkey{ID: p.ID, TokenID: p.TokenID, TokenName: p.TokenName, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt,
		SignCount: p.SignCount, CloneWarning: p.CloneWarning, Synced: p.Synced, RevokedAt: p.RevokedAt, RevokedBy: p.RevokedBy}
}

func apiToken(t access.Token) api.Token {
	return api.Token{ID: t.ID, Name: t.Name, Role: string(t.Role), CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy, RevokedAt: t.RevokedAt}
}

func apiAuditEvent(e audit.Event) api.AuditEvent {
	return api.AuditEvent{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Host: e.Host, Account: e.Account,
		Serial: e.Serial, Outcome: e.Outcome, Reason: e.Reason, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
}

func apiImportResult(r *inventory.ImportResult) *api.ImportResult {
	return &api.ImportResult{Errors: r.Errors, Applied: r.Applied,
		Rows: mapSlice(r.Rows, func(row inventory.ImportRow) api.ImportRow {
			return api.ImportRow{Line: row.Line, Account: row.Account, Owner: row.Owner, Contact: row.Contact, Key: row.Key, Err: row.Err}
		})}
}

func apiScanResult(r inventory.IngestResult) api.ScanResult {
	return api.ScanResult{HostID: r.HostID, Hostname: r.Hostname, Stale: r.Stale, Unchanged: r.Unchanged,
		Accounts: r.Accounts, AccountsNew: r.AccountsNew, AccountsGone: r.AccountsGone,
		CredentialsNew: r.CredentialsNew, CredentialsGone: r.CredentialsGone, Events: r.Events, PendingReview: r.PendingReview}
}

func apiEnrollment(t issuer.EnrollTicket, command string) api.Enrollment {
	return api.Enrollment{Token: t.Token, RootFingerprint: t.RootFingerprint, ExpiresAt: t.ExpiresAt, Identity: t.Identity, Command: command}
}

func apiPlanHistory(h *inventory.PlanHistory) *api.PlanHistory {
	return &api.PlanHistory{From: h.From, To: h.To, Snapshots: mapSlice(h.Snapshots, func(s inventory.Snapshot) api.PlanSnapshot {
		return api.PlanSnapshot{Date: s.Date, TakenAt: s.TakenAt, Tiers: mapSlice(s.Tiers, func(t inventory.TierSnapshot) api.PlanTierSnapshot {
			return api.PlanTierSnapshot{Tier: int(t.Tier), Name: t.Name, Accounts: t.Accounts, ByStrength: t.ByStrength,
				Target: t.Target.Name(), BelowTarget: t.BelowTarget, PhaseEnd: t.PhaseEnd, People: apiPeople(t.People),
				Burndown: api.Burndown{Level: t.Burndown.Level.Name(), Basis: t.Burndown.Basis, Below: t.Burndown.Below}}
		})}
	})}
}
