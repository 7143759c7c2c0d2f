{{/* Names ------------------------------------------------------------------------------------ */}}

{{- define "tsg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tsg.fullname" -}}
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

{{- define "tsg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tsg.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tsg.secretName" -}}
{{- if .Values.secret.create -}}
{{- include "tsg.fullname" . -}}
{{- else -}}
{{- .Values.secret.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------------- */}}

{{- define "tsg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tsg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Pod labels carry no chart version: bumping the chart alone must not restart pods. */}}
{{- define "tsg.podLabels" -}}
{{ include "tsg.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
{{- end -}}

{{/*
Labels of the helm test pod (templates/tests/swap-test.yaml), also the NetworkPolicy's selector
for it. Never app.kubernetes.io/name with the instance label: the pod would then match the
Deployment's and the Service's selector (its ReplicaSet would adopt it, the Service would route
to it). The instance label lets `ct install` and `kubectl logs -l` find it with the release.
*/}}
{{- define "tsg.testSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
{{- end -}}

{{- define "tsg.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tsg.podLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Configuration --------------------------------------------------------------------------- */}}

{{/*
The ConfigMap's data as JSON: the gateway's environment, only the settings that are set, so the
gateway's own defaults apply to the rest. The ConfigMap renders it and the Deployment hashes it.
*/}}
{{- define "tsg.configEnv" -}}
{{- $c := .Values.config -}}
{{- $r := .Values.redis -}}
{{- $env := dict "PORT" (toString (int .Values.containerPorts.http)) "OPS_PORT" (toString (int .Values.containerPorts.ops)) -}}
{{- with $c.basePath }}{{ $_ := set $env "BASE_PATH" . }}{{ end -}}
{{- with $c.logLevel }}{{ $_ := set $env "LOG_LEVEL" . }}{{ end -}}
{{- if kindIs "slice" $c.trustProxy -}}
{{- with $c.trustProxy }}{{ $_ := set $env "TRUST_PROXY" (join "," .) }}{{ end -}}
{{- else if not (kindIs "invalid" $c.trustProxy) -}}
{{- $_ := set $env "TRUST_PROXY" (toString (int $c.trustProxy)) -}}
{{- end -}}
{{- with $c.corsOrigins }}{{ $_ := set $env "CORS_ORIGINS" (join "," .) }}{{ end -}}
{{- if not (kindIs "invalid" $c.upstreamTimeoutMs) -}}
{{- $_ := set $env "UPSTREAM_TIMEOUT_MS" (toString (int $c.upstreamTimeoutMs)) -}}
{{- end -}}
{{- if .Values.apps -}}
{{- if or $c.spotify.clientId $c.spotify.redirectUris $c.spotify.tokenUrl -}}
{{- fail "apps and config.spotify are both set: with apps, every app (the former one too, as id default) is an entry of apps" -}}
{{- end -}}
{{- $_ := set $env "APPS_FILE" (include "tsg.appsFilePath" .) -}}
{{- else -}}
{{- $_ := set $env "SPOTIFY_CLIENT_ID" (required "config.spotify.clientId is required: the app's client id (or list the apps in apps)" $c.spotify.clientId) -}}
{{- if not $c.spotify.redirectUris -}}
{{- fail "config.spotify.redirectUris is required: list the app's redirect URIs (the first is the default)" -}}
{{- end -}}
{{- $_ := set $env "SPOTIFY_REDIRECT_URI" (join "," $c.spotify.redirectUris) -}}
{{- with $c.spotify.tokenUrl }}{{ $_ := set $env "SPOTIFY_TOKEN_URL" . }}{{ end -}}
{{- end -}}
{{- with $c.defaultApp }}{{ $_ := set $env "DEFAULT_APP" . }}{{ end -}}
{{- with $c.refreshToken.maxAge }}{{ $_ := set $env "REFRESH_TOKEN_MAX_AGE" . }}{{ end -}}
{{- if not (kindIs "invalid" $c.refreshToken.rotation) -}}
{{- $_ := set $env "REFRESH_TOKEN_ROTATION" (toString $c.refreshToken.rotation) -}}
{{- end -}}
{{- with $c.refreshToken.reuseGrace }}{{ $_ := set $env "REFRESH_TOKEN_REUSE_GRACE" . }}{{ end -}}
{{- with $c.tokenState.redisFailure }}{{ $_ := set $env "TOKEN_STATE_REDIS_FAILURE" . }}{{ end -}}
{{- if not (kindIs "invalid" $c.overload.maxEventLoopDelayMs) -}}
{{- $_ := set $env "OVERLOAD_MAX_EVENT_LOOP_DELAY_MS" (toString (int $c.overload.maxEventLoopDelayMs)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $c.overload.maxInFlight) -}}
{{- $_ := set $env "OVERLOAD_MAX_IN_FLIGHT" (toString (int $c.overload.maxInFlight)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $c.overload.maxConnectionsPerIp) -}}
{{- $_ := set $env "MAX_CONNECTIONS_PER_IP" (toString (int $c.overload.maxConnectionsPerIp)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $c.rateLimit.enabled) -}}
{{- $_ := set $env "RATE_LIMIT_ENABLED" (toString $c.rateLimit.enabled) -}}
{{- end -}}
{{- with $c.rateLimit.swapPerIp }}{{ $_ := set $env "RATE_LIMIT_SWAP_PER_IP" . }}{{ end -}}
{{- with $c.rateLimit.refreshPerIp }}{{ $_ := set $env "RATE_LIMIT_REFRESH_PER_IP" . }}{{ end -}}
{{- with $c.rateLimit.refreshPerToken }}{{ $_ := set $env "RATE_LIMIT_REFRESH_PER_TOKEN" . }}{{ end -}}
{{- with $c.rateLimit.redisPrefix }}{{ $_ := set $env "RATE_LIMIT_REDIS_PREFIX" . }}{{ end -}}
{{- with $c.rateLimit.redisFailure }}{{ $_ := set $env "RATE_LIMIT_REDIS_FAILURE" . }}{{ end -}}
{{- with $r.sentinel.sentinels }}{{ $_ := set $env "REDIS_SENTINELS" (join "," .) }}{{ end -}}
{{- with $r.sentinel.masterName }}{{ $_ := set $env "REDIS_SENTINEL_MASTER" . }}{{ end -}}
{{- with $r.cluster.nodes }}{{ $_ := set $env "REDIS_CLUSTER_NODES" (join "," .) }}{{ end -}}
{{- with $r.username }}{{ $_ := set $env "REDIS_USERNAME" . }}{{ end -}}
{{- if not (kindIs "invalid" $r.tls.enabled) -}}
{{- $_ := set $env "REDIS_TLS" (toString $r.tls.enabled) -}}
{{- end -}}
{{- if not (kindIs "invalid" $r.protocol) -}}
{{- $_ := set $env "REDIS_PROTOCOL" (toString (int $r.protocol)) -}}
{{- end -}}
{{- $t := .Values.tracing -}}
{{- if $t.enabled -}}
{{- $_ := set $env "OTEL_TRACES_EXPORTER" "otlp" -}}
{{- with $t.endpoint }}{{ $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . }}{{ end -}}
{{- with $t.serviceName }}{{ $_ := set $env "OTEL_SERVICE_NAME" . }}{{ end -}}
{{- with $t.sampler }}{{ $_ := set $env "OTEL_TRACES_SAMPLER" . }}{{ end -}}
{{- if not (kindIs "invalid" $t.samplerRatio) -}}
{{- $_ := set $env "OTEL_TRACES_SAMPLER_ARG" (toString $t.samplerRatio) -}}
{{- end -}}
{{- with $t.resourceAttributes -}}
{{- $pairs := list -}}
{{- range $key, $value := . }}{{ $pairs = append $pairs (printf "%s=%s" $key (urlquery (toString $value))) }}{{ end -}}
{{- $_ := set $env "OTEL_RESOURCE_ATTRIBUTES" (join "," $pairs) -}}
{{- end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/* Apps (DESIGN §11) ------------------------------------------------------------------------ */}}

{{- define "tsg.appsMountPath" -}}/etc/token-swap-gateway{{- end -}}
{{- define "tsg.appsFilePath" -}}{{ include "tsg.appsMountPath" . }}/apps.yaml{{- end -}}

{{/* The Secret key of an app's client secret: its secretKey, else app-<id>-client-secret. */}}
{{- define "tsg.appSecretKey" -}}
{{- .secretKey | default (printf "app-%s-client-secret" .id) -}}
{{- end -}}

{{/* Each app's route prefix, comma-separated, for the helm test (files/swap-test.js). */}}
{{- define "tsg.appPaths" -}}
{{- $paths := list -}}
{{- range .Values.apps }}{{ $paths = append $paths (printf "/apps/%s" .id) }}{{ end -}}
{{- join "," $paths -}}
{{- end -}}

{{/*
The apps file (APPS_FILE): each app of .Values.apps as the gateway reads it, its client secret
replaced by the path of the file the Secret mounts. The ConfigMap renders it and the Deployment
hashes it.
*/}}
{{- define "tsg.appsFile" -}}
{{- $apps := list -}}
{{- range .Values.apps -}}
{{- $app := omit . "clientSecret" "secretKey" -}}
{{- $_ := set $app "clientSecretFile" (printf "%s/%s" (include "tsg.secretMountPath" $) (include "tsg.appSecretKey" .)) -}}
{{- $apps = append $apps $app -}}
{{- end -}}
{{- toYaml (dict "apps" $apps) -}}
{{- end -}}

{{/* Secrets ---------------------------------------------------------------------------------- */}}

{{- define "tsg.secretMountPath" -}}/var/run/secrets/token-swap-gateway{{- end -}}
{{- define "tsg.redisCaMountPath" -}}/var/run/secrets/token-swap-gateway-redis-ca{{- end -}}

{{/*
Secret keys and the variables whose NAME_FILE points at them, as JSON [[key, variable, value]].
Only keys that exist are listed: with secret.create, those with a value; with existingSecret, the
required keys (with apps: token-encryption-keys and each app's key) and
secret.existingSecretOptionalKeys. An app's key has no variable: the apps file names its file.
*/}}
{{- define "tsg.secretKeys" -}}
{{- $s := .Values.secret -}}
{{- $all := list
  (list "spotify-client-secret" "SPOTIFY_CLIENT_SECRET" $s.clientSecret)
  (list "token-encryption-keys" "TOKEN_ENCRYPTION_KEYS" $s.tokenEncryptionKeys)
  (list "redis-url" "REDIS_URL" $s.redisUrl)
  (list "redis-password" "REDIS_PASSWORD" $s.redisPassword)
  (list "redis-sentinel-password" "REDIS_SENTINEL_PASSWORD" $s.redisSentinelPassword)
  (list "legacy-token-secret" "LEGACY_TOKEN_SECRET" $s.legacyTokenSecret) -}}
{{- $required := list "spotify-client-secret" "token-encryption-keys" -}}
{{- if .Values.apps -}}
{{- if $s.clientSecret -}}
{{- fail "secret.clientSecret is set but apps is too: each app's client secret is its clientSecret (or secretKey) in apps" -}}
{{- end -}}
{{- $required = list "token-encryption-keys" -}}
{{- range .Values.apps -}}
{{- $key := include "tsg.appSecretKey" . -}}
{{- $required = append $required $key -}}
{{- /* No variable: the apps file names the file (clientSecretFile). */ -}}
{{- if $s.create -}}
{{- $all = append $all (list $key "" (required (printf "apps: the app %s needs clientSecret (or secret.create=false and its key in secret.existingSecret)" .id) .clientSecret)) -}}
{{- else -}}
{{- if .clientSecret -}}
{{- fail (printf "apps: the app %s has a clientSecret, but secret.create=false: put it in secret.existingSecret under %s" .id $key) -}}
{{- end -}}
{{- $all = append $all (list $key "" "") -}}
{{- end -}}
{{- end -}}
{{- $all = rest $all -}}
{{- end -}}
{{- $keys := list -}}
{{- if $s.create -}}
{{- if $s.existingSecret -}}
{{- fail "secret.existingSecret is set but secret.create is true: set secret.create=false to use the existing Secret" -}}
{{- end -}}
{{- if not .Values.apps -}}
{{- $_ := required "secret.clientSecret is required (SPOTIFY_CLIENT_SECRET), or set secret.create=false and secret.existingSecret" $s.clientSecret -}}
{{- end -}}
{{- $_ := required "secret.tokenEncryptionKeys is required (TOKEN_ENCRYPTION_KEYS: kid:base64url(32 bytes), see npm run keygen), or set secret.create=false and secret.existingSecret" $s.tokenEncryptionKeys -}}
{{- range $all -}}
{{- if index . 2 }}{{ $keys = append $keys . }}{{ end -}}
{{- end -}}
{{- else -}}
{{- $_ := required "secret.existingSecret is required when secret.create=false: the name of a Secret with the keys spotify-client-secret and token-encryption-keys" $s.existingSecret -}}
{{- range $all -}}
{{- if or (has (index . 0) $required) (has (index . 0) $s.existingSecretOptionalKeys) -}}
{{- $keys = append $keys (list (index . 0) (index . 1) "") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $keys -}}
{{- end -}}

{{/* The created Secret's data (key: value) as JSON; the Deployment hashes it. */}}
{{- define "tsg.secretData" -}}
{{- $data := dict -}}
{{- range (include "tsg.secretKeys" . | fromJsonArray) -}}
{{- $_ := set $data (index . 0) (index . 2) -}}
{{- end -}}
{{- toJson $data -}}
{{- end -}}

{{/* Redis ------------------------------------------------------------------------------------ */}}

{{/* The Redis topologies that are set, as JSON list; more than one fails the render. */}}
{{- define "tsg.redisTopologies" -}}
{{- $s := .Values.secret -}}
{{- $r := .Values.redis -}}
{{- $set := list -}}
{{- if or (and $s.create $s.redisUrl) (and (not $s.create) (has "redis-url" $s.existingSecretOptionalKeys)) -}}
{{- $set = append $set "standalone" -}}
{{- end -}}
{{- if or $r.sentinel.sentinels $r.sentinel.masterName -}}
{{- if not (and $r.sentinel.sentinels $r.sentinel.masterName) -}}
{{- fail "Redis Sentinel needs both redis.sentinel.sentinels and redis.sentinel.masterName" -}}
{{- end -}}
{{- $set = append $set "sentinel" -}}
{{- end -}}
{{- if $r.cluster.nodes -}}
{{- $set = append $set "cluster" -}}
{{- end -}}
{{- if gt (len $set) 1 -}}
{{- fail (printf "More than one Redis topology is configured (%s): choose one of standalone (secret.redisUrl or redis-url in secret.existingSecretOptionalKeys), redis.sentinel or redis.cluster" (join ", " $set)) -}}
{{- end -}}
{{- toJson $set -}}
{{- end -}}

{{- define "tsg.redisTopology" -}}
{{- $set := include "tsg.redisTopologies" . | fromJsonArray -}}
{{- if $set }}{{ first $set }}{{ end -}}
{{- end -}}

{{/* Lifecycle -------------------------------------------------------------------------------- */}}

{{/*
Grace period: the preStop sleep, then the gateway's own bound after SIGTERM
(UPSTREAM_TIMEOUT_MS rounded up to seconds, + 5 s: src/start-gateway.ts), then a margin.
*/}}
{{- define "tsg.terminationGracePeriodSeconds" -}}
{{- $timeoutMs := int (default 5000 .Values.config.upstreamTimeoutMs) -}}
{{- $upstreamSeconds := div (add $timeoutMs 999) 1000 -}}
{{- $minimum := add (int .Values.shutdown.preStopSleepSeconds) $upstreamSeconds 5 (int .Values.shutdown.marginSeconds) -}}
{{- $explicit := .Values.shutdown.terminationGracePeriodSeconds -}}
{{- if kindIs "invalid" $explicit -}}
{{- $minimum -}}
{{- else if lt (int $explicit) (int $minimum) -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds=%d is below preStopSleepSeconds + ceil(upstreamTimeoutMs/1000) + 5 + marginSeconds = %d: in-flight requests would be killed" (int $explicit) (int $minimum)) -}}
{{- else -}}
{{- int $explicit -}}
{{- end -}}
{{- end -}}

{{/* More than one pod can run at once. */}}
{{- define "tsg.multiplePods" -}}
{{- if .Values.autoscaling.enabled -}}
{{- if gt (int .Values.autoscaling.maxReplicas) 1 }}true{{ end -}}
{{- else if gt (int .Values.replicaCount) 1 -}}true
{{- end -}}
{{- end -}}
