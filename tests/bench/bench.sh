#!/usr/bin/env bash
# Benchmark: build + push of a COPY-heavy context (a real node_modules from `npm ci`: ~300 MB, ~50k files)
# to a loopback registry, beside buildah (bud + push) and `tar | pigz | sha256sum` of the same tree, run in
# the same session. Prints wall times, ratios and hoist's peak RSS. Not a test: nothing here asserts.
#
# Usage: tests/bench/bench.sh            (needs: npm, docker-registry, buildah, pigz, GNU time)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-$(mktemp -d /tmp/hoist-bench.XXXXXX)}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hoist-fixtures
app=$here/fixtures/bench/node-app
lock_hash=$(sha256sum "$app/package-lock.json" | cut -c1-16)
ctx=$cache/bench-node-$lock_hash

for tool in npm docker-registry buildah pigz /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: missing $tool (apt-get install -y docker-registry buildah pigz time npm)"; exit 2; }
done

if [ ! -d "$ctx/node_modules" ]; then
  echo "bench: npm ci into $ctx (once per lock file)"
  rm -rf "$ctx.tmp" && mkdir -p "$ctx.tmp" && cp "$app"/package.json "$app"/package-lock.json "$app"/Dockerfile "$ctx.tmp/"
  (cd "$ctx.tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  mv "$ctx.tmp" "$ctx"
fi
echo "bench: context $(du -sh "$ctx" | cut -f1), $(find "$ctx" | wc -l) entries; cores: $(nproc)"

(cd "$here" && cargo build --release --quiet)
hoist=$here/target/release/hoist

. "$here/tests/bench/registry.sh"
trap 'kill $reg_pid 2>/dev/null; rm -rf "$work/buildah" "$work/hoist-cache"' EXIT

seconds() { python3 -c 'import sys; print(f"{float(sys.argv[1]):.2f}")' "$1"; }
timed() { # timed NAME CMD... → prints elapsed seconds and max RSS (KiB) into $work/NAME.time
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
}

# Every run reads the tree from the page cache: one warm-up pass first, so order does not favour anyone.
tar -C "$ctx" -cf - . > /dev/null
timed pigz bash -c "tar -C '$ctx' -cf - . | pigz -1 | sha256sum"
timed pigz6 bash -c "tar -C '$ctx' -cf - . | pigz | sha256sum"
timed hoist "$hoist" build --cache-dir "$work/hoist-cache" --progress plain \
  --name "127.0.0.1:$port/bench:hoist" --dir "$ctx" --push
rm -rf "$work/hoist-cache"
timed hoist_again "$hoist" build --cache-dir "$work/hoist-cache" --progress plain \
  --name "127.0.0.1:$port/bench:hoist2" --dir "$ctx" --push
rm -rf "$work/hoist-cache"
timed hoist_fast "$hoist" build --cache-dir "$work/hoist-cache" --progress plain --compression-level 1 \
  --name "127.0.0.1:$port/bench:hoist-fast" --dir "$ctx" --push
timed buildah bash -c "buildah --storage-driver vfs --root '$work/buildah/root' --runroot '$work/buildah/run' \
  bud --quiet -t bench:buildah -f '$ctx/Dockerfile' '$ctx' && \
  buildah --storage-driver vfs --root '$work/buildah/root' --runroot '$work/buildah/run' \
  push --quiet --tls-verify=false bench:buildah docker://127.0.0.1:$port/bench:buildah"

read -r t_hoist rss_hoist < "$work/hoist.time"
read -r t_fast rss_fast < "$work/hoist_fast.time"
read -r t_buildah _ < "$work/buildah.time"
read -r t_pigz _ < "$work/pigz.time"
read -r t_pigz6 _ < "$work/pigz6.time"
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1])/float(sys.argv[2]):.2f}")' "$1" "$2"; }
echo
echo "| what | seconds |"
echo "|---|---|"
echo "| hoist build + push (gzip -6, default) | $(seconds "$t_hoist") |"
echo "| hoist build + push --compression-level 1 | $(seconds "$t_fast") |"
echo "| buildah bud + push (vfs) | $(seconds "$t_buildah") |"
echo "| tar \| pigz -1 \| sha256sum | $(seconds "$t_pigz") |"
echo "| tar \| pigz -6 \| sha256sum | $(seconds "$t_pigz6") |"
echo
echo "buildah / hoist:   $(ratio "$t_buildah" "$t_hoist")x  (goal: >= 3)"
echo "hoist -1 / pigz -1: $(ratio "$t_fast" "$t_pigz")x  (goal: <= 1.5)"
echo "hoist -6 / pigz -6: $(ratio "$t_hoist" "$t_pigz6")x"
echo "hoist peak RSS:    $((rss_hoist / 1024)) MiB (-1: $((rss_fast / 1024)) MiB)  (goal: < 150)"
echo "digest:            $(tail -1 "$work/hoist.out")"
echo "same digest again: $(tail -1 "$work/hoist_again.out" | sed 's/.*@//')"
