// Package svgtest parses an SVG document with encoding/xml for tests: the
// whole document, nothing after the root, the root an <svg> in the SVG
// namespace. Tests of roster plan chart (render, server, the CLI) check
// its panels, polylines and lines through it.
package svgtest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// NS is the SVG namespace.
const NS = "http://www.w3.org/2000/svg"

// Node is one element: its name, attributes, children and text.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []*Node    `xml:",any"`
	Text    string     `xml:",chardata"`
}

// Attr returns the attribute name's value ("" when absent).
func (n *Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// All returns every element under n (n included) named local, in
// document order.
func (n *Node) All(local string) []*Node {
	var out []*Node
	var walk func(*Node)
	walk = func(m *Node) {
		if m.XMLName.Local == local {
			out = append(out, m)
		}
		for _, c := range m.Nodes {
			walk(c)
		}
	}
	walk(n)
	return out
}

// Texts returns the text of every <text> and <title> under n, in document
// order.
func (n *Node) Texts() []string {
	var out []string
	for _, t := range append(n.All("text"), n.All("title")...) {
		out = append(out, t.Text)
	}
	return out
}

// Points counts the points of a polyline's points attribute.
func (n *Node) Points() int { return len(strings.Fields(n.Attr("points"))) }

// Parse decodes data as one whole XML document whose root is <svg> in the
// SVG namespace, with nothing but white space after it.
func Parse(data []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var root Node
	if err := d.Decode(&root); err != nil {
		return nil, fmt.Errorf("svg: %w", err)
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("svg: after the root: %w", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			return nil, fmt.Errorf("svg: %T after the root element", tok)
		}
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != NS {
		return nil, fmt.Errorf("svg: root is {%s}%s, want {%s}svg", root.XMLName.Space, root.XMLName.Local, NS)
	}
	return &root, nil
}

// Tiers returns the chart's tier panels (<g class="tier">) by their
// data-tier attribute, in document order.
func (n *Node) Tiers() []*Node {
	var out []*Node
	for _, g := range n.All("g") {
		if g.Attr("class") == "tier" {
			out = append(out, g)
		}
	}
	return out
}

// ByClass returns the elements under n named local with class c.
func (n *Node) ByClass(local, c string) []*Node {
	var out []*Node
	for _, m := range n.All(local) {
		if m.Attr("class") == c {
			out = append(out, m)
		}
	}
	return out
}
