package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster/agent"
)

// fileConfig is the YAML form of agent.Config. Every key is spelled out:
// an unknown key is an error that names its line.
type fileConfig struct {
	Server          string         `yaml:"server"`
	RootFingerprint string         `yaml:"root_fingerprint"`
	Identities      []fileIdentity `yaml:"identities"`
}

type fileIdentity struct {
	Name   string       `yaml:"name"`
	Dir    string       `yaml:"dir"`
	User   string       `yaml:"user"`
	Rekey  bool         `yaml:"rekey"`
	Reload []fileReload `yaml:"reload"`
	Scan   *fileScan    `yaml:"scan"`
	SSH    *fileSSH     `yaml:"ssh"`
	Sshd   *fileSshd    `yaml:"sshd"`
}

type fileSSH struct {
	KeyType string `yaml:"key_type"`
}

type fileSshd struct {
	Dir      string       `yaml:"dir"`
	HostKeys string       `yaml:"host_keys"`
	Reload   []fileReload `yaml:"reload"`
	Refresh  duration     `yaml:"refresh"`
}

type fileReload struct {
	Exec            []string    `yaml:"exec"`
	Signal          *fileSignal `yaml:"signal"`
	SystemctlReload string      `yaml:"systemctl_reload"`
	Timeout         duration    `yaml:"timeout"`
}

type fileSignal struct {
	PID     int    `yaml:"pid"`
	PIDFile string `yaml:"pid_file"`
	Signal  string `yaml:"signal"`
}

type fileScan struct {
	Interval duration `yaml:"interval"`
	Root     string   `yaml:"root"`
}

// duration is a time.Duration written as "90s", "1h".
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 30s or 1h", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30s or 1h", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// parseConfig reads the YAML configuration of `roster-agent run` and
// `status`. name is the file name used in errors.
func parseConfig(name string, data []byte) (agent.Config, error) {
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		if errors.Is(err, io.EOF) {
			return agent.Config{}, fmt.Errorf("%s: the file is empty", name)
		}
		return agent.Config{}, fmt.Errorf("%s: %s", name, yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return agent.Config{}, fmt.Errorf("%s: holds more than one YAML document", name)
	}
	cfg := agent.Config{Server: fc.Server, RootFingerprint: fc.RootFingerprint}
	for _, fi := range fc.Identities {
		id := agent.Identity{Name: fi.Name, Dir: fi.Dir, User: fi.User, Rekey: fi.Rekey}
		id.Reload = reloadActions(fi.Reload)
		if fi.Scan != nil {
			id.Scan = &agent.ScanOptions{Interval: time.Duration(fi.Scan.Interval), Root: fi.Scan.Root}
		}
		if fi.SSH != nil {
			id.SSH = &agent.SSHOptions{KeyType: fi.SSH.KeyType}
		}
		if fi.Sshd != nil {
			id.Sshd = &agent.SshdOptions{Dir: fi.Sshd.Dir, HostKeys: fi.Sshd.HostKeys,
				Reload: reloadActions(fi.Sshd.Reload), Refresh: time.Duration(fi.Sshd.Refresh)}
		}
		cfg.Identities = append(cfg.Identities, id)
	}
	if err := cfg.Validate(); err != nil {
		return agent.Config{}, fmt.Errorf("%s:%s %w", name, lineOf(data, err), err)
	}
	return cfg, nil
}

func reloadActions(frs []fileReload) []agent.ReloadAction {
	var out []agent.ReloadAction
	for _, fr := range frs {
		a := agent.ReloadAction{Exec: fr.Exec, SystemctlReload: fr.SystemctlReload, Timeout: time.Duration(fr.Timeout)}
		if fr.Signal != nil {
			a.Signal = &agent.SignalAction{PID: fr.Signal.PID, PIDFile: fr.Signal.PIDFile, Signal: fr.Signal.Signal}
		}
		out = append(out, a)
	}
	return out
}

// yamlMessage turns a yaml.v3 error into roster's words: no "yaml:"
// prefix, no Go type names, one line per problem joined by "; ".
func yamlMessage(err error) string {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for i, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		m = unknownField.ReplaceAllString(m, "unknown key $1")
		msgs[i] = m
	}
	return strings.Join(msgs, "; ")
}

// lineOf returns "LINE:" for the identity a validation error is about, or
// "" when it is about the whole file.
func lineOf(data []byte, err error) string {
	var ce *agent.ConfigError
	if !errors.As(err, &ce) || ce.Identity < 0 {
		return ""
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "identities" {
			seq := top.Content[i+1]
			if ce.Identity < len(seq.Content) {
				return fmt.Sprintf("%d:", seq.Content[ce.Identity].Line)
			}
		}
	}
	return ""
}
