package restart

import (
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// check compares a rolloutState with the expectation: done, a substring of
// the message, and the sentinel the error wraps (nil for no error).
func check(t *testing.T, got rolloutState, done bool, msg string, wantErr error) {
	t.Helper()
	if got.done != done {
		t.Errorf("done = %v, want %v (msg %q, err %v)", got.done, done, got.msg, got.err)
	}
	if !strings.Contains(got.msg, msg) {
		t.Errorf("msg = %q, want it to contain %q", got.msg, msg)
	}
	switch {
	case wantErr == nil && got.err != nil:
		t.Errorf("err = %v, want none", got.err)
	case wantErr != nil && !errors.Is(got.err, wantErr):
		t.Errorf("err = %v, want %v", got.err, wantErr)
	}
}

func TestDeploymentRollout(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*appsv1.Deployment)
		done    bool
		msg     string
		wantErr error
	}{
		{"complete", func(*appsv1.Deployment) {}, true, "2 replicas updated and available", nil},
		{"generation not observed", func(d *appsv1.Deployment) { d.Generation = 2 }, false, "not observed generation 2", nil},
		{"not all updated", func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 }, false, "1 of 2 replicas updated", nil},
		{"old replicas left", func(d *appsv1.Deployment) { d.Status.Replicas = 3 }, false, "1 old replicas pending termination", nil},
		{"updated not available", func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 1 }, false, "1 of 2 updated replicas available", nil},
		{"nil replicas defaults to 1", func(d *appsv1.Deployment) {
			d.Spec.Replicas = nil
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
		}, true, "", nil},
		{"scaled to zero", func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr(int32(0))
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1}
		}, true, "", nil},
		{"progress deadline exceeded", func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 1
			d.Status.Conditions = []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentProgressing, Status: "False", Reason: "ProgressDeadlineExceeded",
				Message: `ReplicaSet "web-5f" has timed out progressing.`,
			}}
		}, false, "", ErrProgressDeadline},
		{"stale deadline condition before the controller observes", func(d *appsv1.Deployment) {
			d.Generation = 2
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"}}
		}, false, "not observed", nil},
		{"paused and not rolled", func(d *appsv1.Deployment) {
			d.Spec.Paused = true
			d.Status.UpdatedReplicas = 0
		}, false, "0 of 2 replicas updated", ErrNotRollable},
		{"paused but already complete", func(d *appsv1.Deployment) { d.Spec.Paused = true }, true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment("ns", "web", podSpec(""))
			tt.mutate(d)
			check(t, deploymentRollout(d), tt.done, tt.msg, tt.wantErr)
		})
	}
}

func TestStatefulSetRollout(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*appsv1.StatefulSet)
		done    bool
		msg     string
		wantErr error
	}{
		{"complete", func(*appsv1.StatefulSet) {}, true, "3 replicas at revision db-7d9f", nil},
		{"generation not observed", func(s *appsv1.StatefulSet) { s.Generation = 4; s.Status.ObservedGeneration = 3 }, false, "not observed generation 4 (observed 3)", nil},
		{"not all updated", func(s *appsv1.StatefulSet) { s.Status.UpdatedReplicas = 2 }, false, "2 of 3 replicas updated", nil},
		{"not all ready", func(s *appsv1.StatefulSet) { s.Status.ReadyReplicas = 2 }, false, "2 of 3 replicas ready", nil},
		{"revision not current", func(s *appsv1.StatefulSet) { s.Status.CurrentRevision = "db-1111" }, false, "current revision db-1111 not yet update revision db-7d9f", nil},
		{"empty strategy type is RollingUpdate", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.Type = ""
			s.Status.UpdatedReplicas = 1
		}, false, "1 of 3 replicas updated", nil},
		{"OnDelete not rolled", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
			s.Status.UpdatedReplicas = 0
		}, false, "0 of 3 replicas updated", ErrNotRollable},
		{"OnDelete already rolled", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
		}, true, "", nil},
		{"partition: ordinals above still rolling", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}
			s.Status.UpdatedReplicas = 1
		}, false, "1 of 3 replicas updated", nil},
		{"partition: ordinals above rolled, below never will be", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}
			s.Status.UpdatedReplicas = 2
		}, false, "2 of 3 replicas updated", ErrNotRollable},
		{"partition zero is a plain rolling update", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(0))}
			s.Status.UpdatedReplicas = 2
		}, false, "2 of 3 replicas updated", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := statefulSet("ns", "db", podSpec(""))
			tt.mutate(s)
			check(t, statefulSetRollout(s), tt.done, tt.msg, tt.wantErr)
		})
	}
}

func TestDaemonSetRollout(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*appsv1.DaemonSet)
		done    bool
		msg     string
		wantErr error
	}{
		{"complete", func(*appsv1.DaemonSet) {}, true, "4 pods updated and available", nil},
		{"generation not observed", func(d *appsv1.DaemonSet) { d.Generation = 2 }, false, "not observed generation 2", nil},
		{"not all updated", func(d *appsv1.DaemonSet) { d.Status.UpdatedNumberScheduled = 3 }, false, "3 of 4 pods updated", nil},
		{"not all available", func(d *appsv1.DaemonSet) { d.Status.NumberAvailable = 2 }, false, "2 of 4 updated pods available", nil},
		{"no nodes to run on", func(d *appsv1.DaemonSet) { d.Status = appsv1.DaemonSetStatus{ObservedGeneration: 1} }, true, "", nil},
		{"OnDelete not rolled", func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
			d.Status.UpdatedNumberScheduled = 0
		}, false, "0 of 4 pods updated", ErrNotRollable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := daemonSet("ns", "agent", podSpec(""))
			tt.mutate(d)
			check(t, daemonSetRollout(d), tt.done, tt.msg, tt.wantErr)
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute:         "5m",
		90 * time.Second:        "1m30s",
		time.Hour:               "1h",
		time.Hour + time.Minute: "1h1m",
		30 * time.Second:        "30s",
		250 * time.Millisecond:  "250ms",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
