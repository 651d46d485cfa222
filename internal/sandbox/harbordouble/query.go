package harbordouble

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The q parameter of Harbor's list APIs (src/lib/q/builder.go): "k=v" exact, "k=~v" fuzzy
// (a case-insensitive substring), "k=[min~max]" range, "k={a b}" any of, joined by ",".

type fuzzy string

type valueRange struct{ min, max string } // "" = open end

type anyOf []string

// parseQuery parses q as Harbor does, including its extra url.QueryUnescape of the whole
// value: a '+' that reached the server as %2B turns into a space here, as in Harbor.
func parseQuery(q string) (map[string]any, *apiError) {
	kw := map[string]any{}
	if q == "" {
		return kw, nil
	}
	if unescaped, err := url.QueryUnescape(q); err == nil {
		q = unescaped
	}
	for _, param := range strings.Split(q, ",") {
		k, v, ok := strings.Cut(param, "=")
		if !ok || k == "" || v == "" {
			return nil, errBadRequest(`the query string must contain "=" and the key/value cannot be empty`)
		}
		val, err := parsePattern(v)
		if err != nil {
			return nil, errBadRequest("invalid query string value: %s", v)
		}
		kw[k] = val
	}
	return kw, nil
}

func parsePattern(v string) (any, error) {
	switch v[0] {
	case '~':
		if len(v) < 2 {
			return nil, fmt.Errorf("empty fuzzy value")
		}
		return fuzzy(v[1:]), nil
	case '[':
		if v[len(v)-1] != ']' || strings.Count(v, "~") != 1 {
			return nil, fmt.Errorf("bad range")
		}
		lo, hi, _ := strings.Cut(v[1:len(v)-1], "~")
		r := valueRange{strings.Trim(strings.TrimSpace(lo), `"'`), strings.Trim(strings.TrimSpace(hi), `"'`)}
		if r.min == "" && r.max == "" {
			return nil, fmt.Errorf("empty range")
		}
		return r, nil
	case '{':
		if v[len(v)-1] != '}' {
			return nil, fmt.Errorf("bad list")
		}
		var l anyOf
		for _, s := range strings.Split(v[1:len(v)-1], " ") {
			if s = strings.Trim(strings.TrimSpace(s), `"'`); s != "" {
				l = append(l, s)
			}
		}
		return l, nil
	case '(':
		// An "and" list needs DAO support Harbor has only for a few resources, not robots.
		return nil, fmt.Errorf("and lists are not supported")
	}
	if v[0] == '\\' {
		v = v[1:]
	}
	return v, nil
}

// matchString applies a parsed q value to a string field.
func matchString(want any, got string) bool {
	switch w := want.(type) {
	case string:
		return got == w
	case fuzzy:
		return strings.Contains(strings.ToLower(got), strings.ToLower(string(w)))
	case anyOf:
		for _, v := range w {
			if v == got {
				return true
			}
		}
		return false
	case valueRange:
		return (w.min == "" || got >= w.min) && (w.max == "" || got <= w.max)
	}
	return false
}

// matchInt applies a parsed q value to an integer field; a value that is not an integer
// matches nothing, as the database comparison would.
func matchInt(want any, got int64) bool {
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	switch w := want.(type) {
	case string:
		n, ok := num(w)
		return ok && n == got
	case fuzzy:
		return strings.Contains(strconv.FormatInt(got, 10), string(w))
	case anyOf:
		for _, v := range w {
			if n, ok := num(v); ok && n == got {
				return true
			}
		}
		return false
	case valueRange:
		if w.min != "" {
			if n, ok := num(w.min); !ok || got < n {
				return false
			}
		}
		if w.max != "" {
			if n, ok := num(w.max); !ok || got > n {
				return false
			}
		}
		return true
	}
	return false
}

// paging is a list request's page and page_size. size 0 means no limit, as in Harbor.
type paging struct{ page, size int64 }

// parsePaging reads page (default 1) and page_size (default 10, at most 100) the way Harbor's
// go-swagger binding does: a bad value is a 422 validation failure.
func parsePaging(q url.Values) (paging, *apiError) {
	p := paging{page: 1, size: 10}
	var failures []string
	if v := q.Get("page"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			failures = append(failures, fmt.Sprintf("page in query must be of type int64: %q", v))
		}
		p.page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			failures = append(failures, fmt.Sprintf("page_size in query must be of type int64: %q", v))
		case n > 100:
			failures = append(failures, "page_size in query should be less than or equal to 100")
		}
		p.size = n
	}
	if len(failures) > 0 {
		return p, errValidation(failures...)
	}
	if p.size < 0 {
		p.size = 0
	}
	return p, nil
}

// bounds gives the slice of n items this page shows.
func (p paging) bounds(n int) (lo, hi int) {
	if p.size <= 0 {
		return 0, n
	}
	page := max(p.page, 1)
	lo64 := min((page-1)*p.size, int64(n))
	hi64 := min(lo64+p.size, int64(n))
	return int(lo64), int(hi64)
}

// writeHeaders writes X-Total-Count and, when there is a previous or next page, Link, as
// Harbor's BaseAPI.Links builds it: the request's path and query with page and page_size set,
// the query unescaped, links joined by " , ".
func (p paging) writeHeaders(w http.ResponseWriter, u *url.URL, total int64) {
	w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	if p.size <= 0 {
		return
	}
	link := func(page int64, rel string) string {
		q := u.Query()
		q.Set("page", strconv.FormatInt(page, 10))
		q.Set("page_size", strconv.FormatInt(p.size, 10))
		raw := q.Encode()
		if unescaped, err := url.QueryUnescape(raw); err == nil {
			raw = unescaped
		}
		l := url.URL{Path: u.Path, RawQuery: raw}
		return fmt.Sprintf(`<%s>; rel="%s"`, l.String(), rel)
	}
	var links []string
	if p.page > 1 && (p.page-1)*p.size < total {
		links = append(links, link(p.page-1, "prev"))
	}
	if p.size*p.page < total {
		links = append(links, link(p.page+1, "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, " , "))
	}
}
