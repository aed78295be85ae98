#!/usr/bin/env bash
# Re-fetches the vendored ECharts build from the npm registry. The platform runs offline, so the
# chart library is served from app/static/vendor/echarts/ and never from a CDN; the common build
# (bar, line, pie, scatter) is all the dashboards and evaluation results draw.
set -euo pipefail
VERSION="${1:-5.6.0}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "echarts@$VERSION" >/dev/null && tar xzf "echarts-$VERSION.tgz")
dest=app/static/vendor/echarts
mkdir -p "$dest"
cp "$tmp/package/dist/echarts.common.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$dest/"
echo "$VERSION" > "$dest/VERSION"
echo "vendored echarts $VERSION into $dest"
