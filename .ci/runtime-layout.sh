#!/usr/bin/env bash
# The image's runtime layout, built as the Dockerfile builds it but without a container engine:
# the build stage's files, `npm ci`, `npm run build`, `npm prune --omit=dev`, then only what the
# run stage copies (no src/, so bin/unified-id.js runs dist/). Started against a throw-away
# PostgreSQL in development mode it must answer /readyz; in production mode with no settings it
# must exit naming what is missing. Catches a package the built code needs that npm prune removed.
# Usage: .ci/runtime-layout.sh <postgres URL of a server this script may create a database on>
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
admin_url=${1:?usage: runtime-layout.sh <postgres URL>}

work=$(mktemp -d /tmp/uid-runtime.XXXXXX)
server_pid=
database=uid_runtime_$$
sql() { (cd "$work/app" && node --input-type=module -e "
  import pg from 'pg';
  const client = new pg.Client(process.argv[1]);
  await client.connect();
  try { await client.query(process.argv[2]); } finally { await client.end(); }" "$admin_url" "$1"); }
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  [ -d "$work/app/node_modules/pg" ] && sql "drop database if exists $database" || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "runtime layout: building in $work"
mkdir -p "$work/build" "$work/app"
cp "$repo/package.json" "$repo/package-lock.json" "$repo/tsconfig.json" "$repo/tsconfig.build.json" "$work/build/"
cp -r "$repo/src" "$work/build/"
(
  cd "$work/build"
  # The CI run's own `npm ci` filled the cache: nothing needs downloading again.
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error
  npm run build --silent
  npm prune --omit=dev --no-audit --no-fund --loglevel=error
)
mv "$work/build/node_modules" "$work/build/dist" "$work/app/"
cp "$repo/package.json" "$work/app/"
cp -r "$repo/bin" "$repo/migrations" "$repo/views" "$repo/certs" "$work/app/"
rm -rf "$work/build"

# As the image's ENV lines set them.
export UV_THREADPOOL_SIZE=2 NODE_OPTIONS=--max-semi-space-size=4
port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
base_url=${admin_url%/*}
sql "create database $database"

echo "runtime layout: development mode against PostgreSQL"
(
  cd "$work/app"
  exec env NODE_ENV=development PORT="$port" HOST=127.0.0.1 DATA_DIR="$work/data" \
    DATABASE_URL="$base_url/$database" LOG_LEVEL=warn node bin/unified-id.js serve
) >"$work/dev.log" 2>&1 &
server_pid=$!
ready=
for _ in $(seq 1 240); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    ready=yes
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "runtime layout: the provider did not become ready in development mode:" >&2
  cat "$work/dev.log" >&2
  exit 1
fi
kill "$server_pid"
wait "$server_pid" || true
server_pid=

echo "runtime layout: production mode without settings must refuse to start"
set +e
(cd "$work/app" && NODE_ENV=production DATA_DIR="$work/data-prod" timeout 60 node bin/unified-id.js serve) >"$work/prod.log" 2>&1
code=$?
set -e
for setting in COOKIE_KEYS DATA_ENCRYPTION_KEY DATABASE_URL AUDIT_CHECKPOINT_DIR; do
  if [ "$code" -eq 0 ] || [ "$code" -eq 124 ] || ! grep -q "$setting" "$work/prod.log"; then
    echo "runtime layout: production start without settings did not exit naming $setting (exit $code):" >&2
    cat "$work/prod.log" >&2
    exit 1
  fi
done
echo "runtime layout: ok"
