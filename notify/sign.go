package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of a post: t=UNIX,v1=HEX.
const SignatureHeader = "X-Roster-Signature"

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock in [Verify].
const DefaultTolerance = 5 * time.Minute

// maxSecretBytes bounds a secret file.
const maxSecretBytes = 4096

// Sign returns the X-Roster-Signature value of body sent at t:
// "t=UNIX,v1=" and the hex HMAC-SHA256 of UNIX + "." + body keyed with
// secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header, an X-Roster-Signature value, against body as
// received, with secret, and refuses a timestamp more than tolerance from
// now (a replay; 0 means DefaultTolerance). Several v1= values (a secret
// being rotated) pass when one matches.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if len(header) > 1024 {
		return errors.New("signature header too long")
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("signature header is not t=UNIX,v1=HEX")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature timestamp %s is more than %s from now", time.Unix(sec, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("signature does not match the body")
}

// ReadSecretFile reads the signing secret from path: the file's bytes
// without a final line break. A file others may read (mode o+r), an empty
// one, or one over 4 KiB is refused; the error never holds the secret.
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case fi.Mode().Perm()&0o004 != 0:
		return nil, fmt.Errorf("%s is readable by every user (mode %04o): chmod o-r %s", path, fi.Mode().Perm(), path)
	case fi.Size() > maxSecretBytes:
		return nil, fmt.Errorf("%s is larger than %d bytes: not a secret file", path, maxSecretBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a secret file", path, maxSecretBytes)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return []byte(s), nil
}
