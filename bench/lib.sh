# Shared by bench/run and bench/ab (sourced, after BENCH_DIR and ROOT are set).

FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

log() { echo "--- $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the Debian packages of the tools the benchmark runs, if missing.
install_missing() {
    local need=()
    command -v wrk >/dev/null || need+=(wrk)
    command -v tarantool >/dev/null || need+=(tarantool)
    command -v redis-server >/dev/null || need+=(redis-server)
    command -v webdis >/dev/null || need+=(webdis)
    command -v taskset >/dev/null || need+=(util-linux)
    [ -f "$FONT" ] || need+=(fonts-dejavu-core)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        as_root apt-get update >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2
    fi
}

# Builds kv-bench (bench/, its own Cargo.lock) and prints its path.
build_kv_bench() {
    log "building kv-bench (release)"
    cargo build --release --locked --manifest-path "$BENCH_DIR/Cargo.toml" >&2
    echo "${CARGO_TARGET_DIR:-$BENCH_DIR/target}/release/kv-bench"
}

# revision_label DIR: the short commit of the checkout in DIR, with
# "+changes" when the gateway's sources differ from it.
revision_label() {
    local commit
    commit=$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$1" diff --quiet HEAD -- src Cargo.toml Cargo.lock tarantool 2>/dev/null || commit="$commit+changes"
    echo "$commit"
}

# The options of kv-bench run set through the environment (BENCH_CASES...),
# one a line.
run_options() {
    local name var
    for name in cases rounds keys warmup duration connections server-cpus load-cpus gateway-workers gateway-workers-b; do
        var=BENCH_$(echo "$name" | tr 'a-z-' 'A-Z_')
        [ -z "${!var:-}" ] || printf -- '--%s\n%s\n' "$name" "${!var}"
    done
}
