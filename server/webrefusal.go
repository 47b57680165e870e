package server

import (
	"net/http"
	"net/url"
)

// webRefusal is a refused form as a page shows it beside the form: the
// message and hint the API would answer, the status it would answer with.
type webRefusal struct {
	Status        int
	Message, Hint string
}

// refusal turns err into a webRefusal when the caller is at fault (a 4xx:
// the page is shown again with the reason and the form's values); any
// other error is returned for the error page.
func (s *Server) refusal(w http.ResponseWriter, r *http.Request, err error) (*webRefusal, error) {
	status, msg, hint := s.describeError(w, r, err)
	if status >= 500 || status == http.StatusUnauthorized || status == http.StatusForbidden {
		return nil, err
	}
	return &webRefusal{Status: status, Message: msg, Hint: hint}, nil
}

// webDone sends the browser to path after a successful form (303: the
// form is not posted again on reload), with done naming what was done
// for the status line.
func webDone(w http.ResponseWriter, r *http.Request, path, done string) error {
	http.Redirect(w, r, path+"?done="+urlQueryEscape(done), http.StatusSeeOther)
	return nil
}

// urlValues encodes name, value pairs as a query, leaving out empty
// values.
func urlValues(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	return v.Encode()
}
