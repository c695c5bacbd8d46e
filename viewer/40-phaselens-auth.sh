#!/bin/sh
# nginx image entrypoint step: the Authorization headers the viewer's proxy adds, from the
# environment (ORTHANC_PASSWORD, PHASELENS_API_TOKEN), into files only nginx reads.
set -eu
dir=${PHASELENS_AUTH_DIR:-/etc/nginx/phaselens-auth}
mkdir -p "$dir"
umask 077
basic=$(printf '%s' "phaselens:${ORTHANC_PASSWORD:?ORTHANC_PASSWORD is not set}" | base64 | tr -d '\n')
printf 'proxy_set_header Authorization "Basic %s";\n' "$basic" > "$dir/pacs.conf"
printf 'proxy_set_header Authorization "Bearer %s";\n' "${PHASELENS_API_TOKEN:?PHASELENS_API_TOKEN is not set}" > "$dir/service.conf"
