package nodesim

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podState is what kubelet knows about a pod on its node and the API does not say reliably (the
// informer's copy may lag behind the simulator's own writes): which containers started, and the
// pull back-off of each image.
type podState struct {
	podIP      string
	startTime  metav1.Time
	containers map[string]*containerState // by container name
	backoff    map[string]*pullBackoff    // by image, as kubelet keys back-off by pod and image
	// lastWritten is the last status the simulator wrote and lastWrittenRV the pod's
	// resourceVersion after it, so that a field the API server normalises away cannot make the
	// simulator rewrite the same status forever.
	lastWritten   *corev1.PodStatus
	lastWrittenRV string
}

// containerState is one container's progress.
type containerState struct {
	startedAt metav1.Time // zero until its image was pulled and it "started"
	waiting   *corev1.ContainerStateWaiting
	// backOffShown is the failure count whose ImagePullBackOff events were emitted, so each
	// back-off period reports once per container.
	backOffShown int
}

func (c *containerState) started() bool { return !c.startedAt.IsZero() }

// pullBackoff tracks the failed pulls of one image for one pod.
type pullBackoff struct {
	failures int
	// showBackOffAt is when the container turns from ErrImagePull to ImagePullBackOff (half way,
	// so both reasons stay visible for a while), retryAt when the next pull may start.
	showBackOffAt, retryAt time.Time
	// message is the last pull error as kubelet keeps it for the back-off message.
	message string
}

// stateFor returns the simulator's memory of pod, creating it on first sight. A pod that already
// reports started containers (the simulator restarted) is adopted as is, so a Running pod is never
// pulled again.
func (s *Simulator) stateFor(pod *corev1.Pod) *podState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.states[pod.UID]; ok {
		return st
	}
	st := &podState{
		podIP:      pod.Status.PodIP,
		startTime:  metav1.NewTime(s.clock.Now()).Rfc3339Copy(),
		containers: map[string]*containerState{},
		backoff:    map[string]*pullBackoff{},
	}
	if pod.Status.StartTime != nil {
		st.startTime = *pod.Status.StartTime
	}
	if pod.Spec.HostNetwork {
		st.podIP = nodeIP
	} else if st.podIP == "" {
		st.podIP = s.ips.next()
	}
	adopt := func(statuses []corev1.ContainerStatus) {
		for _, cs := range statuses {
			switch {
			case cs.State.Running != nil:
				st.containers[cs.Name] = &containerState{startedAt: cs.State.Running.StartedAt}
			case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
				st.containers[cs.Name] = &containerState{startedAt: cs.State.Terminated.StartedAt}
			}
		}
	}
	adopt(pod.Status.InitContainerStatuses)
	adopt(pod.Status.ContainerStatuses)
	s.states[pod.UID] = st
	return st
}

// container returns the state of the named container, creating it.
func (st *podState) container(name string) *containerState {
	c, ok := st.containers[name]
	if !ok {
		c = &containerState{}
		st.containers[name] = c
	}
	return c
}

// ipAllocator hands out pod IPs from 10.244.0.0/16, the usual pod CIDR of kind and kubeadm, in
// order. Nothing routes to them; they only have to be distinct for Endpoints.
type ipAllocator struct {
	mu    sync.Mutex
	given int
}

func (a *ipAllocator) next() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.given
	a.given++
	// 253 hosts per /24 (.2 to .254), wrapping after the /16; .1 is left for a gateway.
	return fmt.Sprintf("10.244.%d.%d", (n/253)%256, n%253+2)
}
