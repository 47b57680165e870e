// Package discovery scans a Linux host for service accounts, what runs as
// them, what they may do and which static credentials they hold.
//
// Start with [Scan], which reads a host through a [Root] and returns a
// [scan.Report]. The package reads files only; it never writes, never
// follows a link out of its root, and never puts secret material in its
// report, warnings or errors: secrets are fingerprinted where they are read,
// and secrets in command lines are redacted by rules that fail safe (see
// redact.go).
//
// A host's files may be hostile, so the report always validates against
// [scan.Validate]: accounts and host names that break the rules of package
// spiffeid are warned about, not reported, and every other string is made
// safe to print and cut to the schema's limits ([textout.Fit]).
// [TableOptions.Write] escapes what it prints, whatever report it is given.
//
// discovery is embedded by roster-agent, so it imports no server code.
package discovery
