#!/usr/bin/env bash
# Install uv if it is missing and sync the locked environment; install the web app's browser assets
# (chart library, Swagger UI), the partner examples' CloudEvents SDK and the tests' OpenID provider from npm, and Debian's Chromium
# and fonts for the browser tests and PDFs. Each step is skipped when already done (uv checks a synced environment in
# a fraction of a second, bytecode already written is kept), so a second run costs under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv
fi
# Bytecode is written here, once, because nothing else writes it: PYTHONDONTWRITEBYTECODE=1 is set on this machine
# (and in CI and the image), so without it every service start and CLI compiled the project and its dependencies from
# source again (a `make up` after kill -9 took 162 s under load). Python still reads .pyc with that variable set.
# Timestamp invalidation (the default, spelled out because SOURCE_DATE_EPOCH would switch compileall to hashes):
# a .pyc is used only while its source's mtime and size match, so an edited source is never shadowed by a stale one,
# and a .pyc without its source is never imported from __pycache__. uv compiles the environment's packages (only what
# is missing on a re-run); compileall, the project's own packages (it writes .pyc whatever PYTHONDONTWRITEBYTECODE
# says, and skips what is up to date), fed the file list so it does not walk the node_modules folders; a source that
# does not compile (a half-done edit) is reported, not fatal, and is compiled in memory when imported as before.
uv sync --frozen --quiet --compile-bytecode
find services shared deploy tests -name node_modules -prune -o -name '*.py' -print \
  | "${UV_PROJECT_ENVIRONMENT:-.venv}/bin/python" -m compileall -q --invalidation-mode timestamp -i - \
  || echo "bootstrap: some sources did not compile to bytecode (above); they are compiled at each import" >&2

# npm ci in a folder unless its node_modules was installed from this very package-lock.json: the lock file's hash is
# kept beside the install, so a re-run (or a checkout that only touched the file) does not reinstall
npm_ci_once() {
  local dir=$1 installed=$1/node_modules/.package-lock.json stamp=$1/node_modules/.chibo-lock.sha256 want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$installed" ]; then
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    # installed before the hash was kept: newer than its lock file is the former check, trusted this once
    if [ ! -f "$stamp" ] && [ "$installed" -nt "$dir/package-lock.json" ]; then echo "$want" >"$stamp"; return 0; fi
  fi
  if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq npm >/dev/null
  fi
  npm ci --prefix "$dir" --no-audit --no-fund --silent
  echo "$want" >"$stamp"
}

# the web app's browser assets (chart library, Swagger UI)
npm_ci_once services/gateway/web
# the AsyncAPI React component every service serves at /asyncapi (rendered offline)
npm_ci_once shared/asyncapi_ui
# The CloudEvents SDK for JavaScript (and amqplib) of the partner examples and the SDK contract tests.
npm_ci_once docs/examples
# A real OpenID Connect provider (panva/node-oidc-provider) the web tests sign in through.
npm_ci_once tests/web/oidc

# Chromium drives the browser tests; DejaVu fonts carry the Vietnamese glyphs embedded in PDFs, Symbola (monochrome)
# the emoji and symbols DejaVu lacks (web/pdf.py FALLBACK).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf ] || missing+=(fonts-symbola)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq "${missing[@]}" >/dev/null || echo "bootstrap: could not install ${missing[*]}" >&2
fi
