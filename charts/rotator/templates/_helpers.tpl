{{/* The name of every object: the release name when it holds "rotator" (helm install rotator ...
gives the names of deploy/), else <release>-rotator. */}}
{{- define "rotator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rotator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rotator.labels" -}}
{{ include "rotator.selectorLabels" . }}
app.kubernetes.io/part-of: rotator
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret names RBAC limits get/list/watch/update/delete to: every credential's
targets.secretName and rbac.managedSecretNames, as a JSON list. Never empty: resourceNames: []
means every name. */}}
{{- define "rotator.secretNames" -}}
{{- $names := .Values.rbac.managedSecretNames | default list -}}
{{- range .Values.config.credentials -}}
{{- if and .targets .targets.secretName -}}
{{- $names = append $names .targets.secretName -}}
{{- end -}}
{{- end -}}
{{- if not $names -}}
{{- fail "rbac: no Secret name to grant: set targets.secretName in config.credentials (or rbac.managedSecretNames)" -}}
{{- end -}}
{{- $names | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* The namespaces the namespaced variant grants writes in: every credential's
targets.namespaces and rbac.targetNamespaces, as a JSON list. */}}
{{- define "rotator.targetNamespaces" -}}
{{- $nss := .Values.rbac.targetNamespaces | default list -}}
{{- range .Values.config.credentials -}}
{{- if .targets -}}
{{- $nss = concat $nss (.targets.namespaces | default list) -}}
{{- end -}}
{{- end -}}
{{- if not $nss -}}
{{- fail "rbac.variant namespaced: no target namespace: list them in config's targets.namespaces or rbac.targetNamespaces" -}}
{{- end -}}
{{- $nss | uniq | sortAlpha | toJson -}}
{{- end -}}

{{- define "rotator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag: pin a release (or image.digest), not latest" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}
