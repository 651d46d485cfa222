package doctor

import "strings"

// inCluster names the fleet member the report is about, and points the rotator's fixes at it:
// `rotate now` without --cluster would rotate every cluster, when only this one needs it.
func (r *Report) inCluster(name string) {
	if name == "" {
		return
	}
	r.Cluster = name
	point := func(f *Finding) {
		for i, l := range f.Fix {
			if strings.HasPrefix(l, "rotator rotate now ") {
				f.Fix[i] = l + " --cluster " + name
			}
		}
	}
	for i := range r.Pods {
		for j := range r.Pods[i].Containers {
			c := &r.Pods[i].Containers[j]
			point(&c.Cause)
			for k := range c.Warnings {
				point(&c.Warnings[k])
			}
		}
	}
}
