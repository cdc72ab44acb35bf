#!/usr/bin/env bash
# Fuzzes sentinel-core's parsers: builds every cargo-fuzz target of fuzz/ and runs each for
# a bounded time, starting from the seed corpus checked in under fuzz/corpus/<target>/.
# Fails on any crash (a panic, a broken invariant, a sanitizer report, a timeout or running
# out of memory), printing the input that caused it.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#
# Needs the nightly toolchain (`cargo +nightly`); installs cargo-fuzz from crates.io into
# fuzz/.tools (gitignored). Inputs found along the way go to fuzz/target/corpus/<target>/
# (the checked-in seeds are not modified); crashes to fuzz/artifacts/<target>/; logs to
# fuzz/target/logs/. One job at a time: the machine has 2 cores. FUZZ_SANITIZER=none doubles the speed (default:
# address). Reproduce a crash with `cargo +nightly fuzz run <target> <file>` from the
# repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
[[ $# -gt 0 ]] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
sanitizer="${FUZZ_SANITIZER:-address}"
# The binaries are looked for in fuzz/target (the fuzz package's own target folder).
unset CARGO_TARGET_DIR
CARGO_FUZZ_VERSION=0.13.2

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 2
fi
tools="$PWD/fuzz/.tools"
export PATH="$tools/bin:$PATH"
if ! cargo-fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION into fuzz/.tools"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$tools"
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "==> building ${targets[*]} (sanitizer: $sanitizer)"
if [[ $# -gt 0 ]]; then
    for target in "${targets[@]}"; do
        cargo +nightly fuzz build --sanitizer "$sanitizer" "$target"
    done
else
    cargo +nightly fuzz build --sanitizer "$sanitizer"
fi

bin_dir="fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"
summary=()
failed=()
for target in "${targets[@]}"; do
    work="fuzz/target/corpus/$target"
    artifacts="fuzz/artifacts/$target"
    log="fuzz/target/logs/$target.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    marker="fuzz/target/logs/$target.start"
    touch "$marker"
    flags=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$artifacts/")
    [[ -f "fuzz/dict/$target.dict" ]] && flags+=(-dict="fuzz/dict/$target.dict")
    echo "==> fuzzing $target for ${seconds} s"
    status=0
    # The binary built above (not `cargo fuzz run`, which would rebuild whenever a source
    # file changes mid-run). The first corpus folder receives new inputs; the checked-in
    # seeds are read only.
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}" "$bin_dir/$target" "${flags[@]}" \
        "$work" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)"
    summary+=("$(printf '%-10s %10s execs %7s/s  %s' "$target" "${execs:-?}" "${rate:-?}" "${cov:-}")")
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        echo "!! $target failed (exit $status); the end of its log ($log):"
        tail -n 60 "$log"
        find "$artifacts" -type f -newer "$marker" | while read -r input; do
            echo "!! input $input ($(wc -c <"$input") bytes):"
            od -A d -c "$input" | head -n 40
            echo "!! as the target reads it:"
            cargo +nightly fuzz fmt --sanitizer "$sanitizer" "$target" "$input" 2>&1 | tail -n 40 || true
        done
    fi
done

echo "==> summary (${seconds} s per target)"
printf '    %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: crashes in ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]}"
