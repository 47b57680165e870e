// Package directory finds service accounts in Active Directory and in
// plain LDAP (OpenLDAP and other RFC 2307 directories) and reports them as
// a [scan.Report] like a host scan's, with the host set to the domain.
// Start at [Scan]: it connects (LDAPS, or StartTLS, with the server
// certificate verified; plain LDAP only with Options.InsecurePlain), binds
// with a simple bind, decides the schema (Options.Schema, or the root DSE:
// [schemaOf]) and runs bounded paged searches: [accountFilter] and
// [mapEntry] for Active Directory, [plainFilter], the service OUs and
// [mapPlain] for plain LDAP.
//
// # Which plain LDAP entries are service accounts
//
// Plain LDAP has no flag for a service account, so an entry with an
// account class (posixAccount, account, inetOrgPerson, person,
// applicationProcess, simpleSecurityObject) counts when one of these marks
// it, each recorded as kind evidence ([plainMarkers]):
//
//   - it sits under an OU named for services ([ServiceOUs]: services,
//     service accounts, svc, applications, apps, robots, dsa, system...),
//     wherever that OU is below the base;
//   - its class is account, applicationProcess or simpleSecurityObject
//     without a person class: a login or bind entry that is nobody's;
//   - its loginShell is nologin or false: a POSIX account no one logs in
//     with;
//   - its name (uid, else cn) starts with svc- or svc_.
//
// People elsewhere, with a login shell and an ordinary name, are not
// reported even when they are in a privileged group. The name is uid (cn
// for entries without one); an entry whose name is no valid account name,
// or repeats another's, is skipped with a warning.
//
// # Privileged groups
//
// Active Directory's are [PrivilegedGroups] (Domain Admins, ...), whose
// recursive members the DC itself resolves (the matching rule in chain).
// Plain LDAP's are [PlainPrivilegedGroups] (admins, wheel, sudo,
// ldapadmins), by cn. In both, Options.PrivilegedGroups (roster scan
// --privileged-group) adds names. Plain LDAP's members are read from
// groupOfNames member, groupOfUniqueNames uniqueMember and posixGroup
// memberUid, and nested groups are walked by [walkGroups]: breadth first
// from one search of all groups under the base, each group once per
// privileged group (so cycles end), at most Options.MaxGroupDepth levels
// and Options.MaxGroupVisits visits; a walk cut short is a warning, never
// a guess. A reason names the path: "member of admins (through tier0,
// backup-ops)". A uidNumber of 0 is a privilege too: root wherever hosts
// take their accounts from the directory.
//
// # Passwords
//
// A user's password is a "password" credential whose fingerprint keys the
// DN and the time of the last change (pwdLastSet in AD; pwdChangedTime,
// from the ppolicy overlay, else shadowLastChange in plain LDAP): it names
// the password's version (it changes when the password does), never its
// content. AD never reveals a password; plain LDAP may let the bind DN
// read userPassword, and then only its scheme ({SSHA}, {CRYPT}, or
// "cleartext" for a value without one, itself a finding) is kept, in
// Password.Algorithm: the value is reduced to its scheme as it arrives
// ([toEntry]) and goes no further. A password unchanged for more than
// [OldPasswordDays], never changed, or never expiring (shadowMax 99999,
// DONT_EXPIRE_PASSWORD) is a finding. Staleness is lastLogonTimestamp in
// AD (no value is stale: no recorded logon); in plain LDAP it is
// pwdLastSuccess (OpenLDAP's lastbind) or authTimestamp, and without
// either nothing is known, so nothing is called stale.
//
// # Decisions
//
//   - Accounts are of kind "directory" (scan.KindDirectory), as the issue
//     asks: accounts of the domain, next to a host's service, human and
//     system accounts. The inventory counts them as service accounts in
//     every tier, plan, owner, exception and strength; the kind says where
//     they live. It is an addition within schema version 1: a server older
//     than the kind refuses such a report (scan.Validate names the field),
//     so update the server before the scanners. An operator's kind
//     (roster account kind NAME service|human|system) wins over it, and
//     auto returns the account to directory. Account.Directory carries the
//     entry (DN, class, SPNs, flags, managed, last logon); the inventory
//     keeps it with the instance and shows it in roster accounts show.
//   - A managed service account (msDS-ManagedServiceAccount,
//     msDS-GroupManagedServiceAccount, both subclasses of computer) holds no
//     static secret: it gets no credential, Directory.Managed is set and the
//     kind evidence says the domain rotates its password. The inventory thus
//     ranks it with accounts holding no static credential, the strong end.
//   - A description that hints a password is a finding; the description
//     itself is never copied into the report.
//   - The bind password is read from a file and handed only to the bind; it
//     appears in no error, log or report.
package directory
