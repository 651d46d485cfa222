package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/doctor"
)

// The checks the doctor could not make are printed, in text and JSON, with the grant.
func TestPrintNotChecked(t *testing.T) {
	rep := &doctor.Report{Namespace: "shop", Target: "deployment/web in namespace shop", Limited: true, Pods: []doctor.PodReport{{
		Name: "web-1", ServiceAccount: "default", Phase: "Pending",
		Containers: []doctor.ContainerReport{{
			Name: "app", Image: "r.example.com/shop/app:1", Waiting: doctor.ReasonImagePullBackOff, Class: doctor.ClassAuth,
			Cause: doctor.Finding{Code: doctor.PullSecretNotChecked, Severity: doctor.SeverityError, Summary: "registry r.example.com refuses the pull"},
			NotChecked: []doctor.NotChecked{{
				Check: doctor.CheckSecretContents, Namespace: "shop", Secret: "pull", Reason: "forbidden",
				Codes:   []doctor.Code{doctor.SecretWrongType, doctor.NoMatchingAuthsKey},
				Summary: "could not read secret pull in namespace shop: forbidden; bind ClusterRole rotator-doctor-secrets with a RoleBinding in shop for full checks",
				Grant:   "kubectl create rolebinding rotator-doctor-secrets -n shop --clusterrole rotator-doctor-secrets --user alice",
			}},
		}},
	}}}
	var b bytes.Buffer
	printDiagnosis(&b, rep)
	for _, want := range []string{
		"PROBLEM PullSecretNotChecked: registry r.example.com refuses the pull",
		"not checked SecretContents: could not read secret pull in namespace shop: forbidden; bind ClusterRole rotator-doctor-secrets with a RoleBinding in shop for full checks",
		"would tell: SecretWrongType, NoMatchingAuthsKey",
		"      kubectl create rolebinding rotator-doctor-secrets -n shop --clusterrole rotator-doctor-secrets --user alice",
		"some checks were not made",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	j, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"limited":true`, `"notChecked":[{"check":"SecretContents","namespace":"shop","secret":"pull","codes":["SecretWrongType","NoMatchingAuthsKey"],"reason":"forbidden"`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("json lacks %s:\n%s", want, j)
		}
	}
}

// A member's report says which cluster it is about, in the first line and in JSON.
func TestPrintDiagnosisNamesTheCluster(t *testing.T) {
	for _, tc := range []struct{ cluster, want string }{
		{"east", "doctor: deployment/web in namespace shop in cluster east\n"},
		{"", "doctor: deployment/web in namespace shop\n"},
	} {
		var b bytes.Buffer
		printDiagnosis(&b, &doctor.Report{Cluster: tc.cluster, Target: "deployment/web in namespace shop", Healthy: true})
		if !strings.HasPrefix(b.String(), tc.want) {
			t.Errorf("cluster %q: %q, want it to start %q", tc.cluster, b.String(), tc.want)
		}
	}
}
