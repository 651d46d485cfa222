package gitlabdouble

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// writePage answers a list request with the page of items it asks for and GitLab's offset
// pagination headers: X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page and X-Prev-Page
// (empty on the last and first page) and Link. Like GitLab it caps per_page at 100.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	page, perPage := 1, defaultPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, errParams("page is invalid"))
			return
		}
		page = max(n, 1)
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, errParams("per_page is invalid"))
			return
		}
		perPage = min(max(n, 1), maxPerPage)
	}
	if items == nil {
		items = []T{} // an empty list is [], never null
	}
	total := len(items)
	totalPages := max((total+perPage-1)/perPage, 1)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)

	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	var links []string
	link := func(p int, rel string) {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		links = append(links, fmt.Sprintf(`<%s>; rel="%s"`, absolute(r, &u), rel))
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		link(page-1, "prev")
	}
	if page < totalPages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		link(page+1, "next")
	}
	link(1, "first")
	link(totalPages, "last")
	h.Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, items[start:end])
}

func absolute(r *http.Request, u *url.URL) string {
	return "http://" + r.Host + u.RequestURI()
}
