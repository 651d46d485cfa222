package rotation

import (
	"slices"
	"testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/providers"
)

// The images a new credential is verified with lie inside what it may pull: a GitLab token of
// group/project is never tried against a sibling project (issue 14, item 11).
func TestImagesToVerifyStayInsideTheHolder(t *testing.T) {
	const reg = "registry.example.com"
	gitlab := func(holder string) *config.Credential {
		return &config.Credential{Name: "gl", Provider: "gitlab", GitLab: &config.GitLab{Project: holder}}
	}
	harbor := &config.Credential{Name: "hb", Provider: "harbor", Harbor: &config.Harbor{}}
	cases := []struct {
		name     string
		cred     *config.Credential
		projects []string
		images   [][]string // per workload
		want     []string
	}{{
		name: "project token: its own project, not the sibling listed first", cred: gitlab("group/project"),
		projects: []string{"group/project"},
		images:   [][]string{{reg + "/group/sibling:1"}, {reg + "/group/project:1", reg + "/group/project/worker:1"}},
		want:     []string{reg + "/group/project:1"},
	}, {
		name: "subgroup token: an image below the subgroup", cred: gitlab("group/sub"),
		projects: []string{"group/sub"},
		images:   [][]string{{reg + "/group/other:1", reg + "/group/subway/app:1", reg + "/group/sub/deep/app:2"}},
		want:     []string{reg + "/group/sub/deep/app:2"},
	}, {
		name: "GitLab path in mixed case matches the lower-case registry path", cred: gitlab("Group/Project"),
		projects: []string{"Group/Project"},
		images:   [][]string{{reg + "/group/other:1", reg + "/group/project:1"}},
		want:     []string{reg + "/group/project:1"},
	}, {
		name: "top-level group: one image is enough", cred: gitlab("group"),
		projects: []string{"group"},
		images:   [][]string{{reg + "/group/a:1"}, {reg + "/group/b:1"}, {reg + "/other/c:1"}},
		want:     []string{reg + "/group/a:1"},
	}, {
		name: "no dependent image inside the holder: nothing to verify with", cred: gitlab("group/project"),
		projects: []string{"group/project"},
		images:   [][]string{{reg + "/group/sibling:1"}},
		want:     nil,
	}, {
		name: "numeric GitLab id: one per first segment, as before", cred: gitlab("42"),
		projects: []string{"42"},
		images:   [][]string{{reg + "/group/a:1", reg + "/group/b:1", reg + "/other/c:1"}},
		want:     []string{reg + "/group/a:1", reg + "/other/c:1"},
	}, {
		name: "Harbor: one image per project of the credential, none of other projects", cred: harbor,
		projects: []string{"team-a", "team-b"},
		images: [][]string{{reg + "/team-a/app:1", reg + "/team-a/api:1"}, {reg + "/team-b/web:1"},
			{reg + "/team-c/x:1"}, {"docker.io/library/nginx:1", "other.example.com/team-a/app:1"}},
		want: []string{reg + "/team-a/app:1", reg + "/team-b/web:1"},
	}, {
		name: "configured verifyImages win", cred: &config.Credential{Name: "gl", GitLab: &config.GitLab{Project: "group/project"},
			VerifyImages: []string{reg + "/group/sibling:1"}},
		projects: []string{"group/project"},
		images:   [][]string{{reg + "/group/project:1"}},
		want:     []string{reg + "/group/sibling:1"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &plan{cred: c.cred, registry: reg, spec: providers.Spec{Projects: c.projects}}
			for i, imgs := range c.images {
				p.workloads = append(p.workloads, restart.Workload{Kind: restart.KindDeployment, Namespace: "ns", Name: string(rune('a' + i)), Images: imgs})
			}
			if got := p.imagesToVerify(); !slices.Equal(got, c.want) {
				t.Fatalf("imagesToVerify = %v, want %v", got, c.want)
			}
		})
	}
}
