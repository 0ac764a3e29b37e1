#!/bin/sh
# wrangler's [build] step. worker-build would otherwise download wasm-bindgen and wasm-opt
# from GitHub; scripts/setup --with-wasm-clis installs them and writes their paths here.
set -e
[ -f "$HOME/.cargo/env-wasm" ] && . "$HOME/.cargo/env-wasm"
exec worker-build --release
