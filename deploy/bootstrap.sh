#!/usr/bin/env bash
# Install uv if it is missing and sync the locked environment; install the web app's browser assets
# (chart library, Swagger UI), the partner examples' CloudEvents SDK and the tests' OpenID provider from npm, and Debian's Chromium
# and fonts for the browser tests and PDFs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv
fi
uv sync --frozen --quiet

web=services/gateway/web
if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq npm >/dev/null
  fi
  npm ci --prefix "$web" --no-audit --no-fund --silent
fi
# the AsyncAPI React component every service serves at /asyncapi (rendered offline)
ui=shared/asyncapi_ui
if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$ui" --no-audit --no-fund --silent
fi

# The CloudEvents SDK for JavaScript (and amqplib) of the partner examples and the SDK contract tests.
examples=docs/examples
if [ ! -f "$examples/node_modules/.package-lock.json" ] || [ "$examples/package-lock.json" -nt "$examples/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$examples" --no-audit --no-fund --silent
fi

# A real OpenID Connect provider (panva/node-oidc-provider) the web tests sign in through.
oidc=tests/web/oidc
if [ ! -f "$oidc/node_modules/.package-lock.json" ] || [ "$oidc/package-lock.json" -nt "$oidc/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$oidc" --no-audit --no-fund --silent
fi

# Chromium drives the browser tests; DejaVu fonts carry the Vietnamese glyphs embedded in PDFs.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq "${missing[@]}" >/dev/null || echo "bootstrap: could not install ${missing[*]}" >&2
fi
