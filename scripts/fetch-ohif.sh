#!/usr/bin/env bash
# The prebuilt OHIF viewer, from the npm registry, into viewer/ohif/ (not committed: 200 MB).
# Name the version: on Node 20 a bare `npm pack @ohif/app` picks 3.12.10.
set -euo pipefail
cd "$(dirname "$0")/.."
version=3.13.2
dest=viewer/ohif
if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$version" ]; then
  echo "OHIF $version already in $dest"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@ohif/app@$version" >/dev/null)
tar -xzf "$work"/ohif-app-$version.tgz -C "$work" package/dist
rm -rf "$dest"
mv "$work/package/dist" "$dest"
echo "$version" > "$dest/.version"
echo "OHIF $version in $dest"
