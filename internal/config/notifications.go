package config

import (
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Notifications are optional webhooks told when something needs a person's attention
// (docs/notifications.md).
type Notifications struct {
	Webhooks []Webhook `json:"webhooks,omitempty"`
}

// Webhook is one receiver of notifications.
type Webhook struct {
	// Name identifies the webhook in logs and errors (its URL never appears there). Unique.
	Name string `json:"name"`
	// URLFrom is where the webhook's URL is read, like passwordFrom: a Slack incoming-webhook
	// URL is itself the secret, so it is never written in the config, logs or errors.
	URLFrom SecretRef `json:"urlFrom"`
	// Format of the payload: json (rotator's versioned schema, default) or slack.
	Format string `json:"format,omitempty"`
	// Events sent to this webhook; default all of failure, rollback, revocation-held and
	// expiry-approaching.
	Events []string `json:"events,omitempty"`
	// Timeout of each POST. Default 10s.
	Timeout Duration `json:"timeout,omitempty"`
	// MaxAttempts per notification, the first included, retried with exponential back-off on a
	// network error, 5xx or 429. Default 5.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// RepeatInterval: the same notification (kind, credential and what it is about) is not sent
	// again within it. Default 24h; "0" sends every occurrence.
	RepeatInterval Duration `json:"repeatInterval,omitempty"`
}

// Webhook payload formats and event names.
const (
	WebhookFormatJSON  = "json"
	WebhookFormatSlack = "slack"

	EventFailure           = "failure"
	EventRollback          = "rollback"
	EventRevocationHeld    = "revocation-held"
	EventExpiryApproaching = "expiry-approaching"
)

// WebhookEvents are every event a webhook can be sent, the default of Webhook.Events.
var WebhookEvents = []string{EventFailure, EventRollback, EventRevocationHeld, EventExpiryApproaching}

// maxWebhookAttempts keeps a webhook that is down from holding its queue for hours.
const maxWebhookAttempts = 20

func defaultNotifications(n *Notifications) {
	for i := range n.Webhooks {
		w := &n.Webhooks[i]
		if w.Format == "" {
			w.Format = WebhookFormatJSON
		}
		if len(w.Events) == 0 {
			w.Events = append([]string(nil), WebhookEvents...)
		}
		if !w.Timeout.IsSet() {
			w.Timeout = NewDuration(10 * time.Second)
		}
		if w.MaxAttempts == 0 {
			w.MaxAttempts = 5
		}
		if !w.RepeatInterval.IsSet() {
			w.RepeatInterval = NewDuration(24 * time.Hour)
		}
	}
}

func validateNotifications(n *Notifications, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i := range n.Webhooks {
		w, wp := &n.Webhooks[i], p.Child("webhooks").Index(i)
		errs = append(errs, validateDNSLabel(w.Name, wp.Child("name"))...)
		if seen[w.Name] && w.Name != "" {
			errs = append(errs, field.Duplicate(wp.Child("name"), w.Name))
		}
		seen[w.Name] = true
		errs = append(errs, validateSecretRef(w.URLFrom, wp.Child("urlFrom"))...)
		if w.Format != WebhookFormatJSON && w.Format != WebhookFormatSlack {
			errs = append(errs, field.NotSupported(wp.Child("format"), w.Format, []string{WebhookFormatJSON, WebhookFormatSlack}))
		}
		events := map[string]bool{}
		for j, ev := range w.Events {
			switch {
			case !slices.Contains(WebhookEvents, ev):
				errs = append(errs, field.NotSupported(wp.Child("events").Index(j), ev, WebhookEvents))
			case events[ev]:
				errs = append(errs, field.Duplicate(wp.Child("events").Index(j), ev))
			}
			events[ev] = true
		}
		errs = append(errs, validateDuration(w.Timeout, wp.Child("timeout"))...)
		if w.Timeout.err == nil && w.Timeout.Duration == 0 {
			errs = append(errs, field.Invalid(wp.Child("timeout"), w.Timeout.raw, "must be positive, e.g. 10s"))
		}
		if w.MaxAttempts < 1 || w.MaxAttempts > maxWebhookAttempts {
			errs = append(errs, field.Invalid(wp.Child("maxAttempts"), w.MaxAttempts, "between 1 (no retry) and 20"))
		}
		errs = append(errs, validateDuration(w.RepeatInterval, wp.Child("repeatInterval"))...)
	}
	return errs
}
