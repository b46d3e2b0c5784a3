{{- define "minio.labels" -}}
app.kubernetes.io/name: {{ .Release.Name }}
app.kubernetes.io/part-of: mlops
{{- end -}}
