{{- define "co2.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The version the images run: the tag (or the chart's appVersion). */}}
{{- define "co2.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "co2.labels" -}}
app.kubernetes.io/part-of: co2-calculator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "co2.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* What a service is in the system: the gateway faces users, the others
serve it and each other. */}}
{{- define "co2.component" -}}
{{- if eq .name "gateway" }}gateway{{ else }}service{{ end -}}
{{- end -}}

{{- define "co2.serviceLabels" -}}
{{ include "co2.labels" .root }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ include "co2.component" . }}
{{- end -}}

{{- define "co2.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{/* A service's image: image.* unless services.<name>.image says
otherwise; a digest pins it. */}}
{{- define "co2.image" -}}
{{- $own := .svc.image | default dict -}}
{{- $repository := printf "%s/%s" .root.Values.image.repository .name -}}
{{- with $own.repository }}{{ $repository = . }}{{ end -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- with $own.tag }}{{ $tag = . }}{{ end -}}
{{- if $own.digest -}}
{{ printf "%s:%s@%s" $repository $tag $own.digest }}
{{- else -}}
{{ printf "%s:%s" $repository $tag }}
{{- end -}}
{{- end -}}

{{/* The grace period: preStop, the HTTP shutdown, then (calc, reporting)
the workers' shutdown, and a margin. */}}
{{- define "co2.gracePeriod" -}}
{{- add .Values.shutdown.preStopSeconds (mul 2 .Values.shutdown.timeoutSeconds) 5 -}}
{{- end -}}

{{/* The environment every container of a service gets. A service acting
on its own (labs, calc, reporting) logs in with its own identity: internal
calls are allowed by the caller's role service:<name> (docs/auth.md). */}}
{{- define "co2.env" -}}
- name: LISTEN_ADDR
  value: {{ printf ":%v" .svc.port | quote }}
{{- if ne .name "gateway" }}
- name: DB_URL
  valueFrom: {secretKeyRef: {name: {{ .root.Values.database.existingSecret }}, key: {{ .root.Values.database.urlKey }}}}
{{- end }}
{{- if ne .name "labs" }}
- name: REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ .root.Values.redis.existingSecret }}, key: {{ .root.Values.redis.urlKey }}}}
{{- end }}
{{- with index .root.Values.oauth.service.existingSecrets .name }}
- name: OAUTH_CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ . }}, key: OAUTH_CLIENT_SECRET}}
{{- if eq $.root.Values.oauth.service.grant "password" }}
- name: OAUTH_SERVICE_USERNAME
  valueFrom: {secretKeyRef: {name: {{ . }}, key: OAUTH_SERVICE_USERNAME}}
- name: OAUTH_SERVICE_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ . }}, key: OAUTH_SERVICE_PASSWORD}}
{{- end }}
{{- end }}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Scheduling of a service's pods: its own settings, else the chart's. */}}
{{- define "co2.scheduling" -}}
{{- with (.svc.nodeSelector | default .root.Values.nodeSelector) }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.svc.affinity | default .root.Values.affinity) }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.svc.tolerations | default .root.Values.tolerations) }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- $spread := .svc.topologySpreadConstraints | default .root.Values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- if $spread }}
{{- toYaml $spread | nindent 2 }}
{{- else }}
{{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {{- include "co2.selector" $ | nindent 8 }}
{{- end }}
{{- end }}
{{- end -}}
