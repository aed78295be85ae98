#!/usr/bin/env bash
# Re-fetches the vendored pell editor (MIT, ~3 kB) from the npm registry. The platform runs
# offline, so the notice body's rich-text editor is served from app/static/vendor/pell/ and never
# from a CDN. The HTML it writes is sanitised on the server (app/services/notices.py `sanitise`).
set -euo pipefail
VERSION="${1:-1.0.6}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && curl -fsSL "https://registry.npmjs.org/pell/-/pell-$VERSION.tgz" -o pell.tgz && tar xzf pell.tgz)
dest=app/static/vendor/pell
mkdir -p "$dest"
cp "$tmp/package/dist/pell.min.js" "$tmp/package/dist/pell.min.css" "$tmp/package/LICENSE.md" "$dest/"
echo "$VERSION" > "$dest/VERSION"
echo "vendored pell $VERSION into $dest"
