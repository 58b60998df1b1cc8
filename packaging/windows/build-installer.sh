#!/usr/bin/env bash
# Builds dist/helper/unified-id-helper-setup-<version>.exe from the Windows single executable
# (npm run helper:build -- --all) with Inno Setup 6: ISCC on Windows (Git Bash), or through wine
# on Linux with Inno Setup installed in its prefix. Usage:
#   packaging/windows/build-installer.sh https://id.example.gov.cn[,https://other.example]
set -euo pipefail
cd "$(dirname "$0")/../.."
origins=${1:-${HELPER_ORIGINS:-${ISSUER:-http://localhost:3000}}}
version=$(node -p "require('./package.json').version")
exe=dist/helper/unified-id-helper-win-x64.exe
[ -f "$exe" ] || { echo "no $exe: run npm run helper:build -- --all first" >&2; exit 1; }

if command -v ISCC.exe >/dev/null 2>&1 || command -v iscc >/dev/null 2>&1; then
  iscc=$(command -v ISCC.exe || command -v iscc)
  src=$(cygpath -w dist/helper 2>/dev/null || echo dist/helper)
  "$iscc" "/DAppVersion=$version" "/DOrigins=$origins" "/DSourceDir=$src" packaging/windows/unified-id-helper.iss
elif command -v wine >/dev/null 2>&1; then
  iscc="${ISCC_PATH:-C:\\Program Files (x86)\\Inno Setup 6\\ISCC.exe}"
  wine "$iscc" "/DAppVersion=$version" "/DOrigins=$origins" "/DSourceDir=$(winepath -w dist/helper)" \
    "$(winepath -w packaging/windows/unified-id-helper.iss)"
else
  echo "Inno Setup's ISCC not found (nor wine): see docs/helper-it.md, Building the helper" >&2
  exit 1
fi
echo "helper: dist/helper/unified-id-helper-setup-$version.exe"
