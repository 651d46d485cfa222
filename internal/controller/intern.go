package controller

import (
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// maxInterned bounds each table of an interner: contents past it are kept as they are, and
// the table starts afresh, so a tenant that makes up labels by the thousand costs the sharing,
// never unbounded memory.
const maxInterned = 4096

// interner lets cached objects of equal contents share one copy of their maps and lists. The
// rotator's Secrets carry the same labels, the same annotations (the credential's id, name,
// times and fingerprint) and the same data in every target namespace, and the configured
// ServiceAccounts mostly the same imagePullSecrets: at 10,000 namespaces those maps are most of
// the caches' memory, and shared they are one. Sharing is safe because nothing writes to a
// cached object: informers' objects are read-only by contract, and every write of the rotator
// works on a copy (secretsync.Writer) or is a patch (secretsync.Bind); the tests of the run from
// the caches check that no object changes.
type interner struct {
	mu      sync.Mutex
	strMaps map[string]map[string]string
	data    map[string]map[string][]byte
	refs    map[string][]corev1.LocalObjectReference
}

func (in *interner) stringMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	key := contentKey(m, func(b *strings.Builder, v string) { b.WriteString(v) })
	in.mu.Lock()
	defer in.mu.Unlock()
	return intern(&in.strMaps, key, m)
}

func (in *interner) dataMap(m map[string][]byte) map[string][]byte {
	if len(m) == 0 {
		return m
	}
	key := contentKey(m, func(b *strings.Builder, v []byte) { b.Write(v) })
	in.mu.Lock()
	defer in.mu.Unlock()
	return intern(&in.data, key, m)
}

// contentKey is m's entries in key order, each key and value ended by a NUL: equal maps, equal
// keys.
func contentKey[V any](m map[string]V, write func(*strings.Builder, V)) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		write(&b, m[k])
		b.WriteByte(0)
	}
	return b.String()
}

func (in *interner) references(refs []corev1.LocalObjectReference) []corev1.LocalObjectReference {
	if len(refs) == 0 {
		return refs
	}
	var b strings.Builder
	for _, r := range refs {
		b.WriteString(r.Name)
		b.WriteByte(0)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	// A clipped slice: an append by anyone reallocates rather than writing into the shared one.
	return slices.Clip(intern(&in.refs, b.String(), refs))
}

// intern returns the value of table under key, or stores v there and returns it.
func intern[V any](table *map[string]V, key string, v V) V {
	if shared, ok := (*table)[key]; ok {
		return shared
	}
	if *table == nil || len(*table) >= maxInterned {
		*table = map[string]V{}
	}
	(*table)[key] = v
	return v
}
