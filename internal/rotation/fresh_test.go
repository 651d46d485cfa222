package rotation

import "testing"

// A credential issued moments ago may be unknown to a replica of the registry's token service:
// its verification uses PullCheckFresh, which checks a first refusal once more, so replica lag
// does not fail (and revoke) a good new credential. With PullCheck it would fail the rotation.
func TestNewCredentialIsVerifiedAsFresh(t *testing.T) {
	w := newWorld(t, "a")
	w.reg.lag = true
	rep := w.rotate(Options{})
	must(t, rep, Succeeded)
	if len(rep.Verified) == 0 {
		t.Fatalf("nothing verified: %+v", rep)
	}
}
