package gitlab

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode"
)

// bodyShape says which of GitLab's (or a proxy's) error shapes an answer had.
type bodyShape int

const (
	shapeNone    bodyShape = iota // empty, or nothing readable
	shapeMessage                  // {"message": …}: the API's own helpers (not_found!, bad_request!…)
	shapeError                    // {"error": "…"}: Grape (parameter validation, no route matched)
	shapeOAuth                    // {"error": code, "error_description": …}: the API guard
	shapeText                     // short plain text ("Retry later" from Rack::Attack)
	shapeHTML                     // an HTML page: a proxy's, or GitLab's web app
)

type errorBody struct {
	message, oauthCode string
	shape              bodyShape
}

// parseErrorBody reads GitLab's error shapes: {"message": "…"}, {"message": {"field": ["…"]}},
// {"message": {"error": "…"}} (the application rate limiter), {"error": "…"} (Grape),
// {"error": "invalid_token", "error_description": "…"} (OAuth), or short plain text.
func parseErrorBody(body []byte) errorBody {
	var shape struct {
		Message     json.RawMessage `json:"message"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &shape) == nil {
		var s string
		if json.Unmarshal(shape.Message, &s) == nil && s != "" {
			return errorBody{message: s, shape: shapeMessage}
		}
		var fields map[string]any
		if json.Unmarshal(shape.Message, &fields) == nil && len(fields) > 0 {
			return errorBody{message: flatten(fields), shape: shapeMessage}
		}
		if shape.Error != "" && shape.Description != "" {
			return errorBody{message: shape.Description, oauthCode: shape.Error, shape: shapeOAuth}
		}
		if shape.Error != "" {
			return errorBody{message: shape.Error, shape: shapeError}
		}
	}
	text := strings.TrimSpace(string(body))
	switch {
	case strings.HasPrefix(text, "<"):
		return errorBody{shape: shapeHTML}
	case text == "" || len(text) > 200 || strings.ContainsFunc(text, func(r rune) bool { return !unicode.IsPrint(r) }):
		return errorBody{}
	}
	return errorBody{message: text, shape: shapeText}
}

// flatten renders a message map: {"name": ["is too long"]} as "name is too long", and an
// "error" or "base" entry as its text alone.
func flatten(fields map[string]any) string {
	var parts []string
	for k, v := range fields {
		var texts []string
		switch v := v.(type) {
		case string:
			texts = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					texts = append(texts, s)
				}
			}
		}
		if len(texts) == 0 {
			continue
		}
		if k == "error" || k == "base" {
			parts = append(parts, strings.Join(texts, ", "))
		} else {
			parts = append(parts, k+" "+strings.Join(texts, ", "))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
