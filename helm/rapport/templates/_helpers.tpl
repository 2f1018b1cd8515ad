{{/*
Names, following `helm create`: Kubernetes names are cut at 63 characters
(the DNS label limit) and never end in "-".
*/}}
{{- define "rapport.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rapport.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rapport.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Per-service helpers take a dict: {"root": $, "key": "profile"}.
The component is the binary's name (profile-service), which is also the
rapport_service label Prometheus rules group by.
*/}}
{{- define "rapport.component" -}}
{{- printf "%s-service" .key }}
{{- end }}

{{- define "rapport.serviceName" -}}
{{- $full := include "rapport.fullname" .root | trunc 54 | trimSuffix "-" }}
{{- printf "%s-%s" $full .key | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rapport.headlessName" -}}
{{- printf "%s-headless" (include "rapport.serviceName" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rapport.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rapport.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ include "rapport.component" . }}
{{- end }}

{{- define "rapport.commonLabels" -}}
helm.sh/chart: {{ include "rapport.chart" . }}
app.kubernetes.io/name: {{ include "rapport.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rapport
{{- end }}

{{- define "rapport.labels" -}}
{{ include "rapport.commonLabels" .root }}
app.kubernetes.io/component: {{ include "rapport.component" . }}
{{- end }}

{{- define "rapport.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rapport.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rapport.image" -}}
{{- $svc := index .root.Values.services .key }}
{{- if $svc.image }}
{{- $svc.image }}
{{- else }}
{{- printf "%s/%s:%s" .root.Values.image.repository (include "rapport.component" .) (default .root.Chart.AppVersion .root.Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "rapport.configMapName" -}}
{{- printf "%s-config" (include "rapport.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rapport.secretName" -}}
{{- printf "%s-secrets" (include "rapport.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The scoring rules and respect lexicon the ConfigMap serves. */}}
{{- define "rapport.scoringRules" -}}
{{- default (.Files.Get "files/scoring-rules.textproto") .Values.scoring.rules }}
{{- end }}

{{- define "rapport.respectLexicon" -}}
{{- default (.Files.Get "files/respect-lexicon.textproto") .Values.feedback.respectLexicon }}
{{- end }}

{{/* Whether any API key configuration is given (otherwise: dev mode). */}}
{{- define "rapport.apiKeysEnabled" -}}
{{- if or .Values.apiKeys.existingSecret .Values.apiKeys.keys }}true{{ end }}
{{- end }}

{{- define "rapport.serviceKeyEnabled" -}}
{{- if or .Values.apiKeys.existingSecret .Values.apiKeys.serviceKey }}true{{ end }}
{{- end }}

{{- define "rapport.redisPasswordEnabled" -}}
{{- if or .Values.redis.existingSecret .Values.redis.password }}true{{ end }}
{{- end }}

{{/* Whether the chart's own Secret has anything to hold. */}}
{{- define "rapport.ownSecretEnabled" -}}
{{- if or (and .Values.redis.password (not .Values.redis.existingSecret)) (and (not .Values.apiKeys.existingSecret) (or .Values.apiKeys.keys .Values.apiKeys.serviceKey)) }}true{{ end }}
{{- end }}

{{/*
RAPPORT_REDIS_URL: the password, when there is one, is spliced in by
Kubernetes' $(VAR) expansion from REDIS_PASSWORD, which comes from a Secret:
it never appears in the pod spec or a ConfigMap.
*/}}
{{- define "rapport.redisUrl" -}}
{{- $url := .Values.redis.url }}
{{- if include "rapport.redisPasswordEnabled" . }}
{{- $parts := regexSplit "://" $url 2 }}
{{- if ne (len $parts) 2 }}
{{- fail "redis.url must look like redis://host:port[/db]" }}
{{- end }}
{{- $rest := index $parts 1 }}
{{- if contains "@" $rest }}
{{- $user := index (regexSplit "@" $rest 2) 0 }}
{{- $host := index (regexSplit "@" $rest 2) 1 }}
{{- printf "%s://%s:$(REDIS_PASSWORD)@%s" (index $parts 0) $user $host }}
{{- else }}
{{- printf "%s://:$(REDIS_PASSWORD)@%s" (index $parts 0) $rest }}
{{- end }}
{{- else }}
{{- $url }}
{{- end }}
{{- end }}

{{/* gRPC target of a peer service, through its ClusterIP Service. */}}
{{- define "rapport.peerTarget" -}}
{{- $svc := index .root.Values.services .key }}
{{- printf "%s.%s.svc:%v" (include "rapport.serviceName" .) .root.Release.Namespace $svc.grpcPort }}
{{- end }}
