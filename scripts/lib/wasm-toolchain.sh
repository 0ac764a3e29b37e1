# shellcheck shell=bash
# scripts/lib/wasm-toolchain.sh — sourced by scripts/setup; not meant to be run on its own.
#
# Makes sure a rustup toolchain named "wasm" exists that builds for wasm32-unknown-unknown,
# so that `cargo +wasm build --target wasm32-unknown-unknown` works on every machine:
#
#   native : rustup's default toolchain has (or gets, via `rustup target add`) the
#            wasm32-unknown-unknown target. "wasm" is a `rustup toolchain link` to it.
#   debian : rustup cannot download the target (only package registries reachable).
#            Debian's rustc-web (bookworm-security), its std sources and lld-22 are
#            installed with apt; std/core/alloc/test for wasm32 are built once with
#            `cargo -Zbuild-std` into $WASM_TOOLCHAIN_DIR, next to wrapper scripts around
#            /usr/bin/rustc and /usr/bin/rustdoc, and that directory is linked as "wasm".
#
# Optionally (wasm_install_clis) installs the pinned wasm CLIs: wasm-bindgen-cli,
# worker-build (cargo install) and wasm-opt (npm binaryen), and writes
# ~/.cargo/env-wasm.
#
# The caller provides: log MSG, note MSG (summary line), die MSG, apt_install PKG...
# Environment: WASM_TOOLCHAIN_MODE=auto|native|debian (default auto),
#              WASM_TOOLCHAIN_NAME (default wasm), WASM_TOOLCHAIN_DIR (default ~/.cargo/wasm-toolchain),
#              CARGO_BUILD_JOBS (default 2).

# ---- pins (verified together) ---------------------------------------------------
WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:-0.2.130}"   # must equal wasm-bindgen in Cargo.lock
WORKER_BUILD_VERSION="${WORKER_BUILD_VERSION:-0.8.7}"      # use with worker = "0.8"
BINARYEN_NPM_VERSION="${BINARYEN_NPM_VERSION:-132.0.0}"     # wasm-opt 132 (runs on Node.js)
WASM_DEBIAN_APT_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web)
WASM_STD_CRATES="std,panic_abort,test"
WASM_STD_RECIPE_VERSION=1   # bump when the std build recipe below changes

CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
WASM_TC="${WASM_TOOLCHAIN_NAME:-wasm}"
WASM_TC_DIR="${WASM_TOOLCHAIN_DIR:-$CARGO_HOME/wasm-toolchain}"
WASM_TOOLS_DIR="$CARGO_HOME/wasm-tools"
WASM_ENV_FILE="$CARGO_HOME/env-wasm"
WASM_TARGET=wasm32-unknown-unknown
WASM_HOST=x86_64-unknown-linux-gnu
WASM_SMOKE_STAMP="${XDG_CACHE_HOME:-$HOME/.cache}/converso/wasm-smoke.stamp"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

WASM_MODE=""          # set by wasm_toolchain_setup: native | debian
WASM_DEFAULT_TC=""    # rustup's default toolchain (used for `cargo install`)

# Is the target installed for toolchain $1? (local check, no network)
_wasm_has_target() {
  [ -n "$1" ] && rustup target list --installed --toolchain "$1" 2>/dev/null | grep -qx "$WASM_TARGET"
}

# Where the "wasm" toolchain link points ("" when there is none)
_wasm_link_target() {
  if [ -L "$RUSTUP_HOME/toolchains/$WASM_TC" ]; then readlink "$RUSTUP_HOME/toolchains/$WASM_TC"; fi
}

_wasm_link() {   # _wasm_link DIR
  local want="$1"
  if [ "$(_wasm_link_target)" != "$want" ]; then
    log "rustup toolchain link $WASM_TC $want"
    if [ -e "$RUSTUP_HOME/toolchains/$WASM_TC" ] && [ ! -L "$RUSTUP_HOME/toolchains/$WASM_TC" ]; then
      die "$RUSTUP_HOME/toolchains/$WASM_TC exists and is not a link; remove it with: rustup toolchain uninstall $WASM_TC"
    fi
    rustup toolchain link "$WASM_TC" "$want" >/dev/null
    note "linked rustup toolchain '$WASM_TC' -> $want"
  fi
}

_wasm_std_stamp_want() {
  printf 'recipe=%s crates=%s\n%s' "$WASM_STD_RECIPE_VERSION" "$WASM_STD_CRATES" "$(/usr/bin/rustc -vV)"
}

# Is the Debian-route toolchain directory complete and built by the current /usr/bin/rustc?
_wasm_debian_ready() {
  [ -x /usr/bin/rustc ] && [ -x "$WASM_TC_DIR/bin/rustc" ] \
    && [ -f "$WASM_TC_DIR/.wasm-std-stamp" ] \
    && [ "$(cat "$WASM_TC_DIR/.wasm-std-stamp")" = "$(_wasm_std_stamp_want)" ] \
    && compgen -G "$WASM_TC_DIR/lib/rustlib/$WASM_TARGET/lib/libstd-*.rlib" >/dev/null
}

# Debian rustc-web + a wasm32 std built with -Zbuild-std, linked as "$WASM_TC".
_wasm_debian_toolchain() {
  apt_install "${WASM_DEBIAN_APT_PACKAGES[@]}"
  [ -x /usr/bin/rust-lld ] || die "/usr/bin/rust-lld missing (packages rust-web-llvm + lld-22)"
  [ -d /usr/lib/rustlib/src/rust/library ] || die "std sources missing (package rust-web-src)"

  local stamp_want libdir work f start
  stamp_want="$(_wasm_std_stamp_want)"
  libdir="$WASM_TC_DIR/lib/rustlib/$WASM_TARGET/lib"
  if [ -f "$WASM_TC_DIR/.wasm-std-stamp" ] && [ "$(cat "$WASM_TC_DIR/.wasm-std-stamp")" = "$stamp_want" ] \
     && compgen -G "$libdir/libstd-*.rlib" >/dev/null; then
    log "wasm32 std for $(/usr/bin/rustc --version) already built in $WASM_TC_DIR"
  else
    log "building std for $WASM_TARGET with -Zbuild-std (about 30 s on 2 cores)"
    work="$(mktemp -d "${TMPDIR:-/tmp}/wasm-std-build.XXXXXX")"
    [ -n "$work" ] && [ -d "$work" ] || die "mktemp failed"
    mkdir -p "$work/crate/src"
    printf '%s\n' '[package]' 'name = "wasm-std-sysroot"' 'version = "0.0.0"' 'edition = "2021"' \
      'publish = false' '[lib]' 'crate-type = ["rlib"]' '[profile.release]' 'opt-level = 3' \
      'debug = false' 'codegen-units = 1' '[workspace]' > "$work/crate/Cargo.toml"
    echo '#![no_std]' > "$work/crate/src/lib.rs"
    start=$(date +%s)
    # -Cembed-bitcode=yes keeps LLVM bitcode in the rlibs so that `lto = true`
    # works in downstream crates (cargo itself passes embed-bitcode=no for deps).
    if ! ( cd "$work/crate" && \
           RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
           RUSTFLAGS="-Cembed-bitcode=yes" \
           /usr/bin/cargo build ${QUIET:+-q} --release --target "$WASM_TARGET" -Zbuild-std="$WASM_STD_CRATES" \
             --target-dir "$work/target" ); then
      rm -rf "$work"; die "wasm32 std build failed"
    fi
    mkdir -p "$work/lib"
    for f in "$work/target/$WASM_TARGET/release/deps/"lib*.rlib; do
      case "$(basename "$f")" in libwasm_std_sysroot-*) ;; *) cp "$f" "$work/lib/" ;; esac
    done
    compgen -G "$work/lib/libstd-*.rlib" >/dev/null || { rm -rf "$work"; die "no libstd rlib produced"; }
    mkdir -p "$WASM_TC_DIR/lib/rustlib/$WASM_TARGET"
    rm -rf "$libdir" "$WASM_TC_DIR/.wasm-std-stamp"
    mv "$work/lib" "$libdir"
    printf '%s' "$stamp_want" > "$WASM_TC_DIR/.wasm-std-stamp"
    rm -rf "$work"
    note "built wasm32 std in $(( $(date +%s) - start ))s into $WASM_TC_DIR"
  fi

  # The rest of the toolchain directory is cheap: (re)write it on every run.
  local tool
  mkdir -p "$WASM_TC_DIR/bin"
  for tool in rustc rustdoc clippy-driver; do
    [ -x "/usr/bin/$tool" ] || continue
    {
      echo '#!/bin/sh'
      echo "# Debian's /usr/bin/$tool with this directory as sysroot: the host std comes from"
      echo "# /usr/lib/rustlib (symlinked), the wasm32-unknown-unknown std was built by"
      echo "# converso's scripts/setup with cargo -Zbuild-std."
      echo 'sysroot=$(dirname "$(dirname "$(readlink -f "$0")")")'
      if [ "$tool" = clippy-driver ]; then
        echo '# cargo-clippy runs clippy-driver as a rustc wrapper: clippy-driver /path/to/rustc ARGS...'
        echo 'case "$1" in'
        echo '  */rustc|rustc) first=$1; shift; exec /usr/bin/clippy-driver "$first" --sysroot "$sysroot" "$@" ;;'
        echo 'esac'
      fi
      echo "exec /usr/bin/$tool --sysroot \"\$sysroot\" \"\$@\""
    } > "$WASM_TC_DIR/bin/$tool.tmp"
    chmod +x "$WASM_TC_DIR/bin/$tool.tmp"
    mv "$WASM_TC_DIR/bin/$tool.tmp" "$WASM_TC_DIR/bin/$tool"
  done
  # rustc --sysroot is passed explicitly: a plain symlink to /usr/bin/rustc reports /usr as sysroot
  for tool in cargo rustfmt cargo-fmt; do
    if [ -x "/usr/bin/$tool" ]; then ln -sfn "/usr/bin/$tool" "$WASM_TC_DIR/bin/$tool"; fi
  done
  # cargo-clippy looks for clippy-driver next to its own symlink-resolved path: copy it
  if [ -x /usr/bin/cargo-clippy ] && ! cmp -s /usr/bin/cargo-clippy "$WASM_TC_DIR/bin/cargo-clippy"; then
    rm -f "$WASM_TC_DIR/bin/cargo-clippy"
    cp /usr/bin/cargo-clippy "$WASM_TC_DIR/bin/cargo-clippy"
  fi
  for f in "$WASM_HOST" src etc; do ln -sfn "/usr/lib/rustlib/$f" "$WASM_TC_DIR/lib/rustlib/$f"; done
  _wasm_link "$WASM_TC_DIR"
}

# Build (and, with node, run) a tiny cdylib with the plain commands. Skipped when the
# toolchain is unchanged since the last successful smoke test.
_wasm_smoke_test() {
  local libdir stamp_want smoke
  libdir="$(rustc "+$WASM_TC" --target "$WASM_TARGET" --print target-libdir 2>/dev/null)" \
    || die "rustc +$WASM_TC does not work"
  compgen -G "$libdir/libcore-*.rlib" >/dev/null || die "no wasm32 core library in $libdir"
  stamp_want="$(_wasm_link_target)
$(rustc "+$WASM_TC" -vV)
$libdir"
  if [ -f "$WASM_SMOKE_STAMP" ] && [ "$(cat "$WASM_SMOKE_STAMP")" = "$stamp_want" ]; then
    return 0
  fi
  log "smoke test: cargo +$WASM_TC build --target $WASM_TARGET"
  smoke="$(mktemp -d "${TMPDIR:-/tmp}/wasm-smoke.XXXXXX")"
  mkdir -p "$smoke/src"
  printf '[package]\nname = "smoke"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["cdylib"]\n[workspace]\n' > "$smoke/Cargo.toml"
  printf '#[no_mangle]\npub extern "C" fn add(a: u32, b: u32) -> u32 { a + b }\n#[no_mangle]\npub extern "C" fn heap(n: usize) -> usize { vec![1u8; n].iter().map(|&x| x as usize).sum() }\n' > "$smoke/src/lib.rs"
  ( cd "$smoke" && cargo "+$WASM_TC" build -q --release --target "$WASM_TARGET" ) \
    || { rm -rf "$smoke"; die "smoke build for $WASM_TARGET failed"; }
  if [ "$(head -c 4 "$smoke/target/$WASM_TARGET/release/smoke.wasm" | od -An -tx1 | tr -d ' \n')" != "0061736d" ]; then
    rm -rf "$smoke"; die "smoke output is not wasm"
  fi
  if command -v node >/dev/null; then
    node -e "const m=new WebAssembly.Module(require('fs').readFileSync(process.argv[1]));const i=new WebAssembly.Instance(m,{});if(i.exports.add(2,3)!==5||i.exports.heap(10)!==10)process.exit(1)" \
      "$smoke/target/$WASM_TARGET/release/smoke.wasm" || { rm -rf "$smoke"; die "smoke wasm did not run in node"; }
    note "smoke test: wasm32 cdylib built with +$WASM_TC and ran in Node.js"
  else
    note "smoke test: wasm32 cdylib built with +$WASM_TC (node not found, not run)"
  fi
  if cargo "+$WASM_TC" clippy --version >/dev/null 2>&1; then
    ( cd "$smoke" && cargo "+$WASM_TC" clippy -q --target "$WASM_TARGET" ) \
      || { rm -rf "$smoke"; die "smoke clippy for $WASM_TARGET failed"; }
  fi
  rm -rf "$smoke"
  mkdir -p "$(dirname "$WASM_SMOKE_STAMP")"
  printf '%s' "$stamp_want" > "$WASM_SMOKE_STAMP"
}

# Main entry: pick the route, set it up, smoke-test it. Sets WASM_MODE.
wasm_toolchain_setup() {
  local want_mode="${WASM_TOOLCHAIN_MODE:-auto}"
  WASM_DEFAULT_TC="$(rustup default 2>/dev/null | awk '{print $1}')" || true
  case "$want_mode" in auto|native|debian) ;; *) die "WASM_TOOLCHAIN_MODE must be auto, native or debian" ;; esac

  if [ "$want_mode" = native ] && [ -z "$WASM_DEFAULT_TC" ]; then
    die "no rustup default toolchain (run: rustup default stable)"
  fi

  if [ "$want_mode" != debian ] && _wasm_has_target "$WASM_DEFAULT_TC"; then
    WASM_MODE=native
  elif [ "$want_mode" = auto ] && [ "$(_wasm_link_target)" = "$WASM_TC_DIR" ] && _wasm_debian_ready; then
    # an earlier run already fell back to the Debian route: don't ask rustup's servers again
    WASM_MODE=debian
  elif [ "$want_mode" != debian ] && [ -n "$WASM_DEFAULT_TC" ]; then
    log "rustup target add $WASM_TARGET --toolchain $WASM_DEFAULT_TC"
    if timeout 600 rustup ${QUIET:+--quiet} target add "$WASM_TARGET" --toolchain "$WASM_DEFAULT_TC"; then
      note "rustup target add $WASM_TARGET for $WASM_DEFAULT_TC"
      WASM_MODE=native
    elif [ "$want_mode" = native ]; then
      die "rustup target add $WASM_TARGET failed"
    else
      log "rustup could not add $WASM_TARGET: falling back to Debian's rustc-web"
      WASM_MODE=debian
    fi
  else
    WASM_MODE=debian
  fi

  if [ "$WASM_MODE" = native ]; then
    _wasm_link "$(rustc "+$WASM_DEFAULT_TC" --print sysroot)"
  else
    _wasm_debian_toolchain
  fi
  _wasm_smoke_test
}

# ---- optional CLIs ------------------------------------------------------------------
_wasm_cargo_install() {   # _wasm_cargo_install CRATE VERSION BINARY [--locked-then-unlocked]
  local crate="$1" ver="$2" bin="$3" fallback="${4:-}" start tc
  if command -v "$bin" >/dev/null && "$bin" --version 2>/dev/null | grep -qw "$ver"; then
    return 0
  fi
  tc="${WASM_DEFAULT_TC:-$WASM_TC}"
  log "cargo +$tc install $crate@$ver"
  start=$(date +%s)
  if [ -n "$fallback" ]; then
    # --locked first; fall back to a fresh resolution when a locked dependency version is
    # not in the registry index (seen: webpki-roots 1.0.11 for wasm-bindgen-cli 0.2.130).
    if ! cargo "+$tc" install -q --locked "$crate" --version "$ver"; then
      echo "   --locked failed, retrying without --locked" >&2
      cargo "+$tc" install -q "$crate" --version "$ver" || die "cargo install $crate@$ver failed"
    fi
  else
    cargo "+$tc" install -q --locked "$crate" --version "$ver" || die "cargo install $crate@$ver failed"
  fi
  note "installed $crate $ver in $(( $(date +%s) - start ))s"
}

wasm_install_clis() {
  _wasm_cargo_install wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen --locked-then-unlocked
  _wasm_cargo_install worker-build "$WORKER_BUILD_VERSION" worker-build

  # wasm-opt (binaryen) from npm: worker-build otherwise downloads it from
  # GitHub, which fails where only package registries are reachable.
  if command -v wasm-opt >/dev/null && [ ! -L "$CARGO_HOME/bin/wasm-opt" ]; then
    : # a wasm-opt of the user's own is in PATH: keep it
  else
    if [ -x "$WASM_TOOLS_DIR/node_modules/binaryen/bin/wasm-opt" ] \
       && [ "$(node -p "require('$WASM_TOOLS_DIR/node_modules/binaryen/package.json').version" 2>/dev/null)" = "$BINARYEN_NPM_VERSION" ]; then
      :
    else
      command -v npm >/dev/null || die "npm not found (needed for wasm-opt from the npm package binaryen)"
      log "npm install binaryen@$BINARYEN_NPM_VERSION (wasm-opt) into $WASM_TOOLS_DIR"
      mkdir -p "$WASM_TOOLS_DIR"
      [ -f "$WASM_TOOLS_DIR/package.json" ] || echo '{"name":"wasm-tools","private":true}' > "$WASM_TOOLS_DIR/package.json"
      npm install --prefix "$WASM_TOOLS_DIR" --no-fund --no-audit --silent "binaryen@$BINARYEN_NPM_VERSION" \
        || die "npm install binaryen@$BINARYEN_NPM_VERSION failed"
      note "installed wasm-opt (npm binaryen $BINARYEN_NPM_VERSION)"
    fi
    # wasm-pack looks for wasm-opt in PATH; worker-build needs WASM_OPT_BIN (env file)
    if [ "$(readlink "$CARGO_HOME/bin/wasm-opt" 2>/dev/null)" != "$WASM_TOOLS_DIR/node_modules/binaryen/bin/wasm-opt" ]; then
      mkdir -p "$CARGO_HOME/bin"
      ln -sfn "$WASM_TOOLS_DIR/node_modules/binaryen/bin/wasm-opt" "$CARGO_HOME/bin/wasm-opt"
      note "linked $CARGO_HOME/bin/wasm-opt"
    fi
  fi

  # env file for worker-build / wrangler
  local content
  content="# written by converso's scripts/setup; source it before worker-build / wrangler dev
# worker-build downloads wasm-bindgen and wasm-opt from GitHub unless told where they are:
export WASM_BINDGEN_BIN=wasm-bindgen
$( if command -v wasm-opt >/dev/null; then echo 'export WASM_OPT_BIN=wasm-opt'; else echo '# no wasm-opt in PATH: set wasm-opt = false in [package.metadata.wasm-pack.profile.release]'; fi )
# wrangler: no telemetry, no fetch of the Request.cf object from the internet
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false"
  if [ ! -f "$WASM_ENV_FILE" ] || [ "$(cat "$WASM_ENV_FILE")" != "$content" ]; then
    printf '%s\n' "$content" > "$WASM_ENV_FILE.tmp"
    mv "$WASM_ENV_FILE.tmp" "$WASM_ENV_FILE"
    note "wrote $WASM_ENV_FILE"
  fi
}
