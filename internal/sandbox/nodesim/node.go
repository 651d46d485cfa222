package nodesim

import (
	"context"
	"maps"
	"runtime"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const (
	// heartbeatInterval is kubelet's default lease renewal and node status period. The node
	// lifecycle controller marks a node unreachable after --node-monitor-grace-period (40s or
	// more) without either, taints it and then evicts its pods.
	heartbeatInterval = 10 * time.Second
	// leaseDurationSeconds is kubelet's default.
	leaseDurationSeconds = 40
	// nodeIP is the node's InternalIP and every pod's hostIP. Nothing connects to it.
	nodeIP = "10.240.0.10"
)

// desiredNode is the Node as kubelet would register it: schedulable, untainted, with capacity for
// hundreds of pods.
func (s *Simulator) desiredNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.nodeName,
			Labels: map[string]string{
				corev1.LabelHostname:      s.nodeName,
				corev1.LabelOSStable:      "linux",
				corev1.LabelArchStable:    runtime.GOARCH,
				"beta.kubernetes.io/os":   "linux",
				"beta.kubernetes.io/arch": runtime.GOARCH,
			},
		},
		Status: s.nodeStatus(nil),
	}
}

// registerBackoff retries registration for about a minute, as the simulator may be started while
// the API server is still coming up (kubelet retries forever).
var registerBackoff = wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 10, Cap: 10 * time.Second}

// registerNode creates the node, or takes over an existing one of that name: labels merged,
// taints and cordon cleared. Its status is written by the heartbeat.
func (s *Simulator) registerNode(ctx context.Context) error {
	transient := func(err error) bool {
		return ctx.Err() == nil && !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err) &&
			!apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err)
	}
	return retry.OnError(registerBackoff, transient, func() error { return s.createOrTakeOverNode(ctx) })
}

func (s *Simulator) createOrTakeOverNode(ctx context.Context) error {
	want := s.desiredNode()
	created, err := s.client.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	switch {
	case err == nil:
		s.nodeUID = created.UID
		s.log.Info("node registered")
	case apierrors.IsAlreadyExists(err):
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := s.client.CoreV1().Nodes().Get(ctx, s.nodeName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			upd := cur.DeepCopy()
			if upd.Labels == nil {
				upd.Labels = map[string]string{}
			}
			maps.Copy(upd.Labels, want.Labels)
			upd.Spec.Taints = nil
			upd.Spec.Unschedulable = false
			s.nodeUID = cur.UID
			if apiequality.Semantic.DeepEqual(cur, upd) {
				return nil
			}
			_, err = s.client.CoreV1().Nodes().Update(ctx, upd, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info("node taken over")
	default:
		return err
	}
	return nil
}

// heartbeatOnce renews the lease and the node's Ready heartbeat; the first call also writes the
// status a create may not have stored. Failures are logged only: the next tick retries, well
// within the lifecycle controller's grace period.
func (s *Simulator) heartbeatOnce(ctx context.Context) {
	if err := s.renewLease(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("renew node lease failed", "err", err)
	}
	if err := s.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("update node status failed", "err", err)
	}
}

// renewLease creates or renews the node's Lease in kube-node-lease, which is how the node
// lifecycle controller learns the node is alive.
func (s *Simulator) renewLease(ctx context.Context) error {
	leases := s.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(s.clock.Now())
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := leases.Get(ctx, s.nodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: s.nodeName, Namespace: corev1.NamespaceNodeLease},
				Spec: coordinationv1.LeaseSpec{
					HolderIdentity:       ptr.To(s.nodeName),
					LeaseDurationSeconds: ptr.To[int32](leaseDurationSeconds),
					RenewTime:            &now,
				},
			}
			// Like kubelet: the node owns its lease, so deleting the node collects it.
			if s.nodeUID != "" {
				lease.OwnerReferences = []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: s.nodeName, UID: s.nodeUID,
				}}
			}
			_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		upd := cur.DeepCopy()
		upd.Spec.HolderIdentity = ptr.To(s.nodeName)
		upd.Spec.LeaseDurationSeconds = ptr.To[int32](leaseDurationSeconds)
		upd.Spec.RenewTime = &now
		_, err = leases.Update(ctx, upd, metav1.UpdateOptions{})
		return err
	})
}

// updateNodeStatus writes the node's status with a fresh Ready heartbeat.
func (s *Simulator) updateNodeStatus(ctx context.Context) error {
	nodes := s.client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, s.nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		upd := cur.DeepCopy()
		upd.Status = s.nodeStatus(&cur.Status)
		_, err = nodes.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		return err
	})
}

// nodeStatus is the status kubelet would report, keeping from old any condition owned by someone
// else and the transition times of conditions that did not change.
func (s *Simulator) nodeStatus(old *corev1.NodeStatus) corev1.NodeStatus {
	now := metav1.NewTime(s.clock.Now()).Rfc3339Copy()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("8"),
		corev1.ResourceMemory:           resource.MustParse("32Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
		corev1.ResourcePods:             resource.MustParse("1000"),
	}
	st := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: nodeIP},
			{Type: corev1.NodeHostName, Address: s.nodeName},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               "nodesim",
			SystemUUID:              "nodesim",
			BootID:                  "nodesim",
			KernelVersion:           "nodesim",
			OSImage:                 "nodesim (no containers are run)",
			ContainerRuntimeVersion: "nodesim://0",
			KubeletVersion:          "v0.0.0-nodesim",
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		},
	}
	var oldConds []corev1.NodeCondition
	if old != nil {
		oldConds = old.Conditions
		st.Images = old.Images
		st.VolumesInUse = old.VolumesInUse
		st.VolumesAttached = old.VolumesAttached
	}
	st.Conditions = mergeNodeConditions(oldConds, now,
		nodeCond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		nodeCond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		nodeCond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		nodeCond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	)
	return st
}

func nodeCond(t corev1.NodeConditionType, st corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
	return corev1.NodeCondition{Type: t, Status: st, Reason: reason, Message: msg}
}

// mergeNodeConditions sets want in old with heartbeat now; a transition time only moves when the
// status does. Conditions of other types in old are kept.
func mergeNodeConditions(old []corev1.NodeCondition, now metav1.Time, want ...corev1.NodeCondition) []corev1.NodeCondition {
	out := make([]corev1.NodeCondition, 0, len(old)+len(want))
	byType := map[corev1.NodeConditionType]corev1.NodeCondition{}
	for _, c := range old {
		byType[c.Type] = c
	}
	for _, w := range want {
		w.LastHeartbeatTime = now
		w.LastTransitionTime = now
		if prev, ok := byType[w.Type]; ok && prev.Status == w.Status {
			w.LastTransitionTime = prev.LastTransitionTime
		}
		out = append(out, w)
		delete(byType, w.Type)
	}
	for _, c := range old {
		if _, keep := byType[c.Type]; keep {
			out = append(out, c)
		}
	}
	return out
}

// currentNode is the node as last seen by the informer, or as registered before the informer
// caught up; scheduling decisions read its labels and taints.
func (s *Simulator) currentNode() *corev1.Node {
	if s.nodes != nil {
		if n, err := s.nodes.Get(s.nodeName); err == nil {
			return n
		}
	}
	return s.desiredNode()
}

// nodeUpdated retries pending pods when the node's labels, taints or cordon change, since a pod
// this node refused may now fit, as the scheduler would retry it.
func (s *Simulator) nodeUpdated(oldObj, newObj any) {
	o, ok1 := oldObj.(*corev1.Node)
	n, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 || n.Name != s.nodeName {
		return
	}
	if maps.Equal(o.Labels, n.Labels) && o.Spec.Unschedulable == n.Spec.Unschedulable &&
		apiequality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) {
		return
	}
	pods, err := s.pods.List(everything)
	if err != nil {
		return
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			s.enqueuePod(p)
		}
	}
}
