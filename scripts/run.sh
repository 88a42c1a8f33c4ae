#!/usr/bin/env bash
# Installs whatever is missing, builds SimRelay and starts the desktop app. With no arguments it uses the built-in
# simulated modem (--demo); pass `--modem /dev/ttyUSB0` (or any `simrelay-desktop` flag) to use a real modem.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
scripts/setup.sh
scripts/build-ui.sh
cargo build --release -p simrelay-desktop
[ "$#" -gt 0 ] || set -- --demo
exec target/release/simrelay-desktop "$@"
