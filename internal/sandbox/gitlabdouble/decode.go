package gitlabdouble

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// decodeBody reads a JSON request body into v. Grape also takes form parameters; the rotator's
// client sends JSON, so the double takes only JSON and says so. It is stricter than GitLab in
// refusing unknown fields, which Grape would drop silently and which mean a client bug.
func decodeBody(r *http.Request, v any) *apiError {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil // no body: the required-field checks report what is missing
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return errParams(fmt.Sprintf("the GitLab double takes only JSON bodies, not %q", ct))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil // no body: the required-field checks report what is missing
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return errParams(err.Error() + " (the GitLab double refuses unknown fields; GitLab would ignore it)")
		}
		return errParams("the body is not valid JSON for this endpoint: " + err.Error())
	}
	return nil
}

// parseDateTime reads a Grape DateTime parameter: an ISO 8601 datetime or a bare date
// (midnight UTC).
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseDate reads a Grape Date parameter: a date, or a datetime whose date part is taken.
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	if t, ok := parseDateTime(s); ok {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

// parseTokenID binds :token_id, an Integer in the route's params.
func parseTokenID(v string) (int64, *apiError) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errParams("token_id is invalid")
	}
	return id, nil
}

// midnightUTC is the start of t's day in UTC.
func midnightUTC(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
