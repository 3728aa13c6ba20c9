{{- define "co2.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "co2.labels" -}}
app.kubernetes.io/part-of: co2-calculator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "co2.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{- define "co2.image" -}}
{{ printf "%s/%s:%s" .root.Values.image.repository .name (default .root.Chart.AppVersion .root.Values.image.tag) }}
{{- end -}}

{{/* The environment every container of a service gets. */}}
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
{{- if or (eq .name "calc") (eq .name "reporting") }}
- name: OAUTH_CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ .root.Values.oauth.service.existingSecret }}, key: OAUTH_CLIENT_SECRET}}
{{- if eq .root.Values.oauth.service.grant "password" }}
- name: OAUTH_SERVICE_USERNAME
  valueFrom: {secretKeyRef: {name: {{ .root.Values.oauth.service.existingSecret }}, key: OAUTH_SERVICE_USERNAME}}
- name: OAUTH_SERVICE_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .root.Values.oauth.service.existingSecret }}, key: OAUTH_SERVICE_PASSWORD}}
{{- end }}
{{- end }}
{{- end -}}
