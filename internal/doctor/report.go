package doctor

// Report is the diagnosis of the pods of one Target. It holds no secret value.
type Report struct {
	// Cluster is the fleet member diagnosed; empty for the rotator's own cluster (or no fleet).
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace"`
	Target    string `json:"target"`
	// Probed is true when the registry was asked (Doctor.Probe).
	Probed bool        `json:"probed"`
	Pods   []PodReport `json:"pods"`
	// Healthy is true when no finding is an error: every pull works (warnings aside).
	Healthy bool `json:"healthy"`
	// Limited is true when some check could not be made because the doctor may not read
	// Secrets there (each container's NotChecked says which, and what grants it).
	Limited bool `json:"limited"`
}

// PodReport is the diagnosis of one pod.
type PodReport struct {
	Name string `json:"name"`
	// Owner recreates the pod ("deployment/web"); empty for a bare pod.
	Owner          string            `json:"owner,omitempty"`
	ServiceAccount string            `json:"serviceAccount"`
	Phase          string            `json:"phase"`
	Containers     []ContainerReport `json:"containers"`
}

// ContainerReport is the diagnosis of one container's image pull.
type ContainerReport struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Init  bool   `json:"init,omitempty"`
	// Waiting is ErrImagePull, ImagePullBackOff or InvalidImageName; empty when the container
	// is not failing to pull.
	Waiting string `json:"waiting,omitempty"`
	// Class of the failure, from kubelet's Message.
	Class   Class  `json:"class,omitempty"`
	Message string `json:"message,omitempty"`
	// Cause is the first broken link (Severity error), or Healthy.
	Cause    Finding   `json:"cause"`
	Warnings []Finding `json:"warnings,omitempty"`
	// NotChecked are the checks of this container's pull that the doctor could not make, for
	// lack of rights to read Secrets.
	NotChecked []NotChecked `json:"notChecked,omitempty"`
}

// limited reports whether some check was not made.
func (r *Report) limited() bool {
	for _, p := range r.Pods {
		for _, c := range p.Containers {
			if len(c.NotChecked) > 0 {
				return true
			}
		}
	}
	return false
}

// Problems counts the findings of severity error.
func (r *Report) Problems() int {
	n := 0
	for _, p := range r.Pods {
		for _, c := range p.Containers {
			if c.Cause.Severity == SeverityError {
				n++
			}
		}
	}
	return n
}

// scrub removes every remembered secret value from the report's texts.
func (r *Report) scrub(red *redactor) {
	for i := range r.Pods {
		for j := range r.Pods[i].Containers {
			c := &r.Pods[i].Containers[j]
			c.Message = red.scrub(c.Message)
			red.scrubFinding(&c.Cause)
			for k := range c.Warnings {
				red.scrubFinding(&c.Warnings[k])
			}
			for k := range c.NotChecked {
				c.NotChecked[k].Summary = red.scrub(c.NotChecked[k].Summary)
			}
		}
	}
}
