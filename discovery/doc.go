// Package discovery scans a Linux host for service accounts, what runs as
// them, what they may do and which static credentials they hold.
//
// Start with [Scan], which reads a host through a [Root] and returns a
// [scan.Report]. The package reads files only; it never writes, never
// follows a link out of its root, and never puts secret material in its
// report, warnings or errors: secrets are fingerprinted where they are read.
//
// discovery is embedded by roster-agent, so it imports no server code.
package discovery
