{{/* The release's full name: "podium" for a release named podium, else <release>-podium. */}}
{{- define "podium.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "podium.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* What selects one component's Pods: never changes between upgrades. */}}
{{- define "podium.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podium.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Every object's labels; call with (dict "root" $ "component" "web"), component optional. */}}
{{- define "podium.labels" -}}
{{ include "podium.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "podium.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "podium.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: the existing ServiceAccount the Pods run as (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "podium.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "podium.ingressHost" -}}
{{- .Values.ingress.host | default (first .Values.allowedHosts) | required "ingress.host: the Ingress needs a host (or allowedHosts a first one)" -}}
{{- end -}}

{{/* ALLOWED_HOSTS: allowedHosts, the Ingress host, and localhost for the probes; each once. */}}
{{- define "podium.allowedHosts" -}}
{{- $hosts := .Values.allowedHosts -}}
{{- if .Values.ingress.enabled -}}
{{- $hosts = append $hosts (include "podium.ingressHost" .) -}}
{{- end -}}
{{- append $hosts "localhost" | uniq | join "," -}}
{{- end -}}

{{- define "podium.csrfTrustedOrigins" -}}
{{- if .Values.csrfTrustedOrigins -}}
{{- join "," .Values.csrfTrustedOrigins -}}
{{- else -}}
{{- $scheme := ternary "https" "http" .Values.behindTlsProxy -}}
{{- $origins := list -}}
{{- range without (splitList "," (include "podium.allowedHosts" .)) "localhost" -}}
{{- $origins = append $origins (printf "%s://%s" $scheme .) -}}
{{- end -}}
{{- join "," $origins -}}
{{- end -}}
{{- end -}}

{{/* The settings that are secret, from the existing Secret (the OpenID Connect client secret only when it has
one); and the ConfigMap's. */}}
{{- define "podium.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "podium.fullname" . }}-config
env:
{{- range list "SECRET_KEY" "DATABASE_URL" "REDIS_URL" }}
  - name: {{ . }}
    valueFrom:
      secretKeyRef:
        name: {{ $.Values.existingSecret }}
        key: {{ . }}
{{- end }}
  - name: PODIUM_OIDC_CLIENT_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ $.Values.existingSecret }}
        key: PODIUM_OIDC_CLIENT_SECRET
        optional: true
{{- end -}}

{{/* A container's security context and its one writable place. */}}
{{- define "podium.containerSecurity" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* Where and with what pull secrets every Pod runs. */}}
{{- define "podium.podScheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pods roll when the settings change, as they would for a new image. */}}
{{- define "podium.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}
