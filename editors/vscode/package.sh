#!/usr/bin/env bash
# Packages the extension as perk-VERSION.vsix in this folder (needs node and the npm registry).
# Install it with `code --install-extension perk-0.2.0.vsix`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm install --no-audit --no-fund
npx --no-install vsce package --allow-missing-repository --skip-license
ls -l ./*.vsix
