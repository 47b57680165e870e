// Package directory finds service accounts in Active Directory (and plain
// LDAP) and reports them as a [scan.Report] like a host scan's, with the
// host set to the domain. Start at [Scan]: it connects (LDAPS, or StartTLS,
// with the server certificate verified; plain LDAP only with
// Options.InsecurePlain), binds with a simple bind, runs one bounded paged
// search ([accountFilter]) and maps every entry with [mapEntry].
//
// Decisions:
//
//   - Accounts keep kind "service": scan.Validate refuses unknown kinds, so a
//     new kind would make an older server refuse a newer report. What marks
//     them as directory accounts is the optional Account.Directory block
//     (SPNs, userAccountControl flags, DN, managed), which older servers
//     ignore.
//   - A user's password is a "password" credential whose fingerprint keys
//     the DN and pwdLastSet: it names the password's version (it changes when
//     the password does), never its content, which LDAP does not reveal.
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
