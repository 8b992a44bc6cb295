#!/usr/bin/env bash
# Benchmark: a RUN-heavy Dockerfile (fixtures/bench/run-heavy: a RUN creating 6,000 files, a RUN deleting
# and changing some, a COPY, a RUN) built by hoist and by buildah (`bud --layers`, vfs storage) in the same
# session: a cold build, then a rebuild with nothing changed. The busybox base is the test fixture, served
# from a loopback registry. Prints wall times and ratios. Not a test: nothing here asserts.
#
# Usage: tests/bench/bench-run.sh      (needs: docker-registry, buildah, skopeo, GNU time; run the tests once
#                                   first so that ~/.cache/hoist-fixtures holds the busybox layout)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-$(mktemp -d /tmp/hoist-bench-run.XXXXXX)}
ctx=$here/fixtures/bench/run-heavy
busybox=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/hoist-fixtures/busybox-*/ 2>/dev/null | head -1)
[ -n "$busybox" ] || { echo "bench-run: no busybox fixture layout; run \`cargo test --locked\` once"; exit 2; }
for tool in docker-registry buildah skopeo /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-run: missing $tool"; exit 2; }
done
(cd "$here" && cargo build --release --quiet)
hoist=$here/target/release/hoist

. "$here/tests/bench/registry.sh"
trap 'kill $reg_pid 2>/dev/null; buildah --storage-driver vfs --root "$work/buildah/root" --runroot "$work/buildah/run" rm -a >/dev/null 2>&1; rm -rf "$work/buildah" "$work/hoist-cache"' EXIT
skopeo copy --quiet --dest-tls-verify=false "oci:$busybox:latest" "docker://127.0.0.1:$port/library/busybox:latest"
skopeo copy --quiet "oci:$busybox:latest" \
  "containers-storage:[vfs@$work/buildah/root+$work/buildah/run]docker.io/library/busybox:latest"

timed() { # timed NAME CMD... → elapsed seconds into $work/NAME.time
  local name=$1; shift
  /usr/bin/time -f '%e' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || { echo "bench-run: $name failed:"; tail -20 "$work/$name.err"; exit 1; }
}
hoist_build() { # hoist_build NAME → the command line, for /usr/bin/time
  echo "'$hoist' build --cache-dir '$work/hoist-cache' --progress plain --registry-mirror docker.io=127.0.0.1:$port \
    --dir '$ctx' --output 'oci:$work/hoist-oci-$1'"
}
buildah_build() {
  echo "BUILDAH_ISOLATION=chroot buildah --storage-driver vfs --root '$work/buildah/root' --runroot '$work/buildah/run' \
    bud --quiet --layers --pull=never -t bench-run:$1 '$ctx'"
}
timed hoist_cold bash -c "$(hoist_build cold)"
timed hoist_warm bash -c "$(hoist_build warm)"
timed buildah_cold bash -c "$(buildah_build cold)"
timed buildah_warm bash -c "$(buildah_build warm)"

t() { cat "$work/$1.time"; }
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1])/float(sys.argv[2]):.2f}")' "$1" "$2"; }
echo "| what | seconds |"
echo "|---|---|"
echo "| hoist cold build | $(t hoist_cold) |"
echo "| hoist rebuild, nothing changed | $(t hoist_warm) |"
echo "| buildah bud --layers cold | $(t buildah_cold) |"
echo "| buildah bud --layers rebuild | $(t buildah_warm) |"
echo
echo "cold: buildah / hoist    $(ratio "$(t buildah_cold)" "$(t hoist_cold)")x  (goal: >= 1)"
echo "rebuild: buildah / hoist $(ratio "$(t buildah_warm)" "$(t hoist_warm)")x  (goal: hoist well under 1 s)"
echo "hoist cached steps on rebuild: $(grep -c CACHED "$work/hoist_warm.err" || true)"
echo "same digest: $(tail -1 "$work/hoist_cold.out") $(tail -1 "$work/hoist_warm.out")"
