package nodesim

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pullTimeout bounds one pull: a registry that hangs must not hold one of the few workers.
const pullTimeout = 30 * time.Second

// Waiting reasons kubelet reports.
const (
	reasonErrImagePull     = "ErrImagePull"
	reasonImagePullBackOff = "ImagePullBackOff"
	reasonPodInitializing  = "PodInitializing"
)

// syncPod plays kubelet's SyncPod for a pod bound to this node: init containers one after the
// other, then every app container, each started once its image was pulled. Containers that started
// stay started; failed pulls are retried with back-off. The next wake-up is queued before the
// status is written, so whoever sees the status may step a fake clock past it.
func (s *Simulator) syncPod(ctx context.Context, pod *corev1.Pod) error {
	st := s.stateFor(pod)
	ps := &podSync{s: s, pod: pod, st: st}
	var wake time.Time

	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if err := ps.container(ctx, c, fmt.Sprintf("spec.initContainers{%s}", c.Name), initDone, &wake); err != nil {
			return err
		}
		initDone = initDone && st.container(c.Name).started()
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if err := ps.container(ctx, c, fmt.Sprintf("spec.containers{%s}", c.Name), initDone, &wake); err != nil {
			return err
		}
	}

	if !wake.IsZero() {
		s.requeueAt(podKey(pod), wake)
	}
	return s.writeStatus(ctx, pod, st)
}

// podSync is one sync of one pod. The keychain is built at most once per sync, as kubelet reads
// the pull secrets once per SyncPod.
type podSync struct {
	s   *Simulator
	pod *corev1.Pod
	st  *podState

	keychain    authn.Keychain
	keychainErr error
	keychainSet bool
}

// container moves one container forward: wait for init containers, stay in back-off, or pull and
// start. It lowers *wake to when this container needs the next sync.
func (p *podSync) container(ctx context.Context, c *corev1.Container, fieldPath string, mayStart bool, wake *time.Time) error {
	cs := p.st.container(c.Name)
	switch {
	case cs.started():
		return nil
	case !mayStart:
		cs.waiting = &corev1.ContainerStateWaiting{Reason: reasonPodInitializing}
		return nil
	}
	at, err := p.pullAndStart(ctx, c, cs, fieldPath)
	if err != nil {
		return err
	}
	if !at.IsZero() && (wake.IsZero() || at.Before(*wake)) {
		*wake = at
	}
	return nil
}

// pullAndStart does what kubelet's image manager and container start do for one container. It
// returns when the container needs another sync (zero once started), and an error only when ctx
// ended, so that a shutdown is not reported as a failed pull.
func (p *podSync) pullAndStart(ctx context.Context, c *corev1.Container, cs *containerState, fieldPath string) (time.Time, error) {
	s := p.s
	image := kubeletImageName(c.Image)
	emit := func(eventType, reason, msg string) {
		s.events.emit(ctx, p.pod, kubeletSource, fieldPath, eventType, reason, msg)
	}

	if c.ImagePullPolicy == corev1.PullNever {
		// This node stores no images; assuming the image present beats failing every such pod.
		emit(corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", image))
		p.start(c, cs, emit)
		return time.Time{}, nil
	}

	if b := p.st.backoff[c.Image]; b != nil {
		now := s.clock.Now()
		if now.Before(b.showBackOffAt) {
			cs.waiting = &corev1.ContainerStateWaiting{Reason: reasonErrImagePull, Message: b.message}
			return b.showBackOffAt, nil
		}
		if now.Before(b.retryAt) {
			cs.waiting = &corev1.ContainerStateWaiting{
				Reason:  reasonImagePullBackOff,
				Message: fmt.Sprintf("Back-off pulling image %q: %s: %s", image, reasonErrImagePull, b.message),
			}
			if cs.backOffShown != b.failures {
				cs.backOffShown = b.failures
				emit(corev1.EventTypeNormal, "BackOff", fmt.Sprintf("Back-off pulling image %q", image))
				emit(corev1.EventTypeWarning, "Failed", "Error: "+reasonImagePullBackOff)
			}
			return b.retryAt, nil
		}
	}

	emit(corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", image))
	begin := s.clock.Now()
	err := p.pull(ctx, c.Image)
	if ctx.Err() != nil {
		return time.Time{}, ctx.Err()
	}
	now := s.clock.Now()
	if err != nil {
		b := p.st.backoff[c.Image]
		if b == nil {
			b = &pullBackoff{}
			p.st.backoff[c.Image] = b
		}
		b.failures++
		delay := s.backoffDelay(b.failures)
		b.showBackOffAt, b.retryAt = now.Add(delay/2), now.Add(delay)
		b.message = err.Error()
		s.log.Info("image pull failed", "pod", podKey(p.pod), "container", c.Name, "image", c.Image,
			"failures", b.failures, "retry_in", delay, "err", err)
		emit(corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", image, err))
		emit(corev1.EventTypeWarning, "Failed", "Error: "+reasonErrImagePull)
		cs.waiting = &corev1.ContainerStateWaiting{Reason: reasonErrImagePull, Message: b.message}
		return b.showBackOffAt, nil
	}

	delete(p.st.backoff, c.Image)
	took := now.Sub(begin).Truncate(time.Millisecond)
	s.log.Info("image pulled", "pod", podKey(p.pod), "container", c.Name, "image", c.Image)
	emit(corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting).", image, took, took))
	p.start(c, cs, emit)
	return time.Time{}, nil
}

// pull reads the pod's pull secrets (once per sync) and pulls image with them.
func (p *podSync) pull(ctx context.Context, image string) error {
	if !p.keychainSet {
		p.keychain, p.keychainErr = p.s.podKeychain(ctx, p.pod)
		p.keychainSet = true
	}
	if p.keychainErr != nil {
		return p.keychainErr
	}
	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	return p.s.pull(ctx, image, p.keychain)
}

// start marks the container started, with kubelet's events; nothing actually runs.
func (p *podSync) start(c *corev1.Container, cs *containerState, emit func(eventType, reason, msg string)) {
	cs.startedAt = metav1.NewTime(p.s.clock.Now()).Rfc3339Copy()
	cs.waiting = nil
	emit(corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
	emit(corev1.EventTypeNormal, "Started", "Started container "+c.Name)
}

// backoffDelay is the wait after the given number of consecutive failures: Backoff, doubling,
// capped.
func (s *Simulator) backoffDelay(failures int) time.Duration {
	d := s.backoff
	for i := 1; i < failures && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}
