package doctor

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Waiting reasons kubelet gives a container whose image it cannot pull.
const (
	// ReasonErrImagePull: the last pull failed; kubelet retries after a back-off.
	ReasonErrImagePull = "ErrImagePull"
	// ReasonImagePullBackOff: kubelet is waiting before the next retry (10 s doubling to 5 min).
	ReasonImagePullBackOff = "ImagePullBackOff"
	// ReasonInvalidImageName: the reference cannot be parsed; no pull is attempted.
	ReasonInvalidImageName = "InvalidImageName"
)

// containerPull is what the pod says about one container's image.
type containerPull struct {
	Name, Image string
	Init        bool
	// Waiting is the container's waiting reason when the pull fails, else "".
	Waiting string
	// Pulled: the container runs or ran, so its image was pulled.
	Pulled bool
	// Message is the most telling text kubelet gave: its last "Failed to pull image" Event for
	// this container, else the container status's message.
	Message string
	Class   Class
}

// containerPulls lists every init and app container of pod with its pull state, reading the
// container statuses and the pod's Events (any order; those of other pods are ignored).
func containerPulls(pod *corev1.Pod, events []corev1.Event) []containerPull {
	statuses := map[string]corev1.ContainerStatus{}
	for _, cs := range pod.Status.InitContainerStatuses {
		statuses["init/"+cs.Name] = cs
	}
	for _, cs := range pod.Status.ContainerStatuses {
		statuses["app/"+cs.Name] = cs
	}
	var out []containerPull
	add := func(c corev1.Container, init bool, fieldPrefix, statusPrefix string) {
		cp := containerPull{Name: c.Name, Image: c.Image, Init: init}
		cs := statuses[statusPrefix+c.Name]
		// kubelet sets the image ID once the image is on the node; a crash-looping container has
		// one, and a last termination state, while it waits.
		cp.Pulled = cs.ImageID != "" || cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case ReasonErrImagePull, ReasonImagePullBackOff, ReasonInvalidImageName:
				cp.Waiting = w.Reason
				cp.Message = w.Message
			}
		}
		if cp.Waiting != "" {
			if ev := lastPullFailure(pod, events, fieldPrefix+"{"+c.Name+"}", c.Image); ev != "" {
				cp.Message = ev
			}
			cp.Class = Classify(cp.Message)
			if cp.Waiting == ReasonInvalidImageName {
				cp.Class = ClassOther
			}
		}
		out = append(out, cp)
	}
	for _, c := range pod.Spec.InitContainers {
		add(c, true, "spec.initContainers", "init/")
	}
	for _, c := range pod.Spec.Containers {
		add(c, false, "spec.containers", "app/")
	}
	return out
}

// lastPullFailure returns the message of the newest Warning "Failed to pull image" Event of this
// pod and container. Events without a field path count when they name the image.
func lastPullFailure(pod *corev1.Pod, events []corev1.Event, fieldPath, image string) string {
	var mine []corev1.Event
	for _, e := range events {
		io := e.InvolvedObject
		if io.Kind != "Pod" || io.Name != pod.Name || (io.UID != "" && io.UID != pod.UID) {
			continue
		}
		if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Message, "Failed to pull image") {
			continue
		}
		if io.FieldPath != fieldPath && (io.FieldPath != "" || !strings.Contains(e.Message, image)) {
			continue
		}
		mine = append(mine, e)
	}
	if len(mine) == 0 {
		return ""
	}
	sort.SliceStable(mine, func(i, j int) bool { return eventTime(mine[i]).Before(eventTime(mine[j])) })
	return mine[len(mine)-1].Message
}

// eventTime is when an Event last happened, whichever API wrote it.
func eventTime(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// reasonFailedToRetrieve is kubelet's Event when it cannot read a pull secret the pod names.
const reasonFailedToRetrieve = "FailedToRetrieveImagePullSecret"

// freshness is how much older than the pod's newest pull failure kubelet's
// FailedToRetrieveImagePullSecret Event may be and still describe that pull: kubelet reads the
// pull secrets for each sync of the pod, just before it pulls.
const freshness = time.Minute

// unretrieved returns the pull secrets kubelet says it could not retrieve for pod ("Unable to
// retrieve some image pull secrets (a, b); ..."), from its newest such Event, and that Event's
// message; nothing when there is none, or when a later pull failed without it (the secret was
// created since).
func unretrieved(pod *corev1.Pod, events []corev1.Event) ([]string, string) {
	var newest *corev1.Event
	var lastFailure time.Time
	for i := range events {
		e := &events[i]
		io := e.InvolvedObject
		if io.Kind != "Pod" || io.Name != pod.Name || (io.UID != "" && io.UID != pod.UID) {
			continue
		}
		switch {
		case e.Reason == reasonFailedToRetrieve:
			if newest == nil || eventTime(*e).After(eventTime(*newest)) {
				newest = e
			}
		case e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "Failed to pull image"):
			if t := eventTime(*e); t.After(lastFailure) {
				lastFailure = t
			}
		}
	}
	if newest == nil || eventTime(*newest).Add(freshness).Before(lastFailure) {
		return nil, ""
	}
	_, list, open := strings.Cut(newest.Message, "(")
	list, _, closed := strings.Cut(list, ")")
	if !open || !closed {
		return nil, ""
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names, newest.Message
}
