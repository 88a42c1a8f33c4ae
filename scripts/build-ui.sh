#!/usr/bin/env bash
# Builds the Leptos UI into dist/ with Trunk, fully offline, with the wasm-opt from node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH" trunk build --release --offline "$@"
