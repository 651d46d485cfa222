package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SchemaVersion names the generic JSON payload's schema (docs/notifications.md). A change that
// removes or renames a field gets a new version.
const SchemaVersion = "rotator.dev/v1"

// Payload formats, as config.WebhookFormatJSON and WebhookFormatSlack.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
)

// generic is the JSON payload: the same envelope for every kind, one section per kind.
type generic struct {
	Version    string     `json:"version"`
	Kind       Kind       `json:"kind"`
	Time       time.Time  `json:"time"`
	Credential Credential `json:"credential"`
	Summary    string     `json:"summary"`
	Failure    *failure   `json:"failure,omitempty"`
	RolledBack *Ref       `json:"rolledBack,omitempty"`
	Held       []Ref      `json:"held,omitempty"`
	Expiry     *expiry    `json:"expiry,omitempty"`
}

type failure struct {
	Cause               string    `json:"cause,omitempty"`
	Errors              []string  `json:"errors"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	FailingSince        time.Time `json:"failingSince,omitzero"`
}

type expiry struct {
	Current Ref       `json:"current"`
	RenewAt time.Time `json:"renewAt"`
}

// Render is the body sent for n in format (json or slack).
func Render(n Notification, format string) ([]byte, error) {
	if format == FormatSlack {
		return json.Marshal(slack(n))
	}
	g := generic{Version: SchemaVersion, Kind: n.Kind(), Time: n.when().UTC(), Credential: n.About(), Summary: n.summary()}
	switch n := n.(type) {
	case RotationFailed:
		g.Failure = &failure{Cause: n.Cause, Errors: n.Errors, ConsecutiveFailures: n.ConsecutiveFailures, FailingSince: n.FailingSince.UTC()}
	case RolledBack:
		g.RolledBack = &n.RolledBack
	case RevocationHeld:
		g.Held = n.Held
	case ExpiryApproaching:
		g.Expiry = &expiry{Current: n.Current, RenewAt: n.RenewAt.UTC()}
	}
	return json.Marshal(g)
}

func (n RotationFailed) summary() string {
	return fmt.Sprintf("rotation of credential %s failed (%s, %d in a row): %s", n.Credential.Name, n.Cause, n.ConsecutiveFailures, first(n.Errors))
}

func (n RolledBack) summary() string {
	return fmt.Sprintf("credential %s: new %s (id %s) rolled back: %s", n.Credential.Name, n.RolledBack.Name, n.RolledBack.ID, n.RolledBack.Reason)
}

func (n RevocationHeld) summary() string {
	parts := make([]string, 0, len(n.Held))
	for _, h := range n.Held {
		parts = append(parts, fmt.Sprintf("%s (id %s) held by %s", h.Name, h.ID, strings.Join(h.HeldBy, ", ")))
	}
	return fmt.Sprintf("credential %s: revocation held back: %s", n.Credential.Name, strings.Join(parts, "; "))
}

func (n ExpiryApproaching) summary() string {
	return fmt.Sprintf("credential %s: %s (id %s) expires at %s and has not been rotated (due since %s)",
		n.Credential.Name, n.Current.Name, n.Current.ID, n.Current.ExpiresAt.UTC().Format(time.RFC3339), n.RenewAt.UTC().Format(time.RFC3339))
}

func first(errs []string) string {
	if len(errs) == 0 {
		return "(no error text)"
	}
	if len(errs) > 1 {
		return fmt.Sprintf("%s (and %d more)", errs[0], len(errs)-1)
	}
	return errs[0]
}

// slackMessage is what a Slack incoming webhook accepts: text (the fallback, and what
// Slack-compatible receivers such as Mattermost show) plus blocks.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func slack(n Notification) slackMessage {
	c := n.About()
	text := ":warning: rotator: " + n.summary()
	ctx := fmt.Sprintf("kind `%s` · credential `%s` · provider `%s`", n.Kind(), c.Name, c.Provider)
	if c.Registry != "" {
		ctx += fmt.Sprintf(" · registry `%s`", c.Registry)
	}
	ctx += " · " + n.when().UTC().Format(time.RFC3339)
	return slackMessage{Text: text, Blocks: []slackBlock{
		{Type: "section", Text: &slackText{Type: "mrkdwn", Text: text}},
		{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: ctx}}},
	}}
}
