#!/bin/sh
# buildpacks/package.sh OUT — builds hoist's lifecycle and every buildpack statically and lays OUT out
# as a build image's /cnb (CNB platform spec 0.13, "Buildpacks Directory Layout"):
#
#   OUT/lifecycle/lifecycle                 the multi-call binary (buildpacks/lifecycle)
#   OUT/lifecycle/{detector,builder,creator,launcher} -> lifecycle
#   OUT/buildpacks/<id with / as _>/<version>/buildpack.toml
#   OUT/buildpacks/<id with / as _>/<version>/bin/{build,detect}   one binary, hard-linked
#   OUT/order.toml                          the default order (buildpacks/order.toml)
#
# Binaries are static (`+crt-static`: static-pie, no dynamic loader needed), without debug info, for
# x86_64-unknown-linux-gnu, built in target/cnb. Idempotent: cargo rebuilds only what changed and a
# file in OUT is replaced only when it differs. Prints OUT on stdout; cargo's output goes to stderr.
set -eu

out=${1:?usage: buildpacks/package.sh OUT}
root=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-linux-gnu
buildpacks="go java nodejs php procfile python ruby"

packages="-p cnb-lifecycle"
for bp in $buildpacks; do packages="$packages -p buildpack-$bp"; done

cd "$root"
# Called from `cargo test`, the environment may carry flags for the outer build; these win.
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_TARGET_DIR
# shellcheck disable=SC2086 # $packages is a list of flags
RUSTFLAGS="-C target-feature=+crt-static" \
CARGO_PROFILE_RELEASE_DEBUG=false \
CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --release --locked --target "$target" --target-dir target/cnb $packages >&2
bin=target/cnb/$target/release

# install SRC DST MODE: copy SRC to DST unless it is already there, unchanged.
install_file() {
    if ! cmp -s "$1" "$2"; then
        cp "$1" "$2.new"
        chmod "$3" "$2.new"
        mv -f "$2.new" "$2"
    fi
}

# A dynamically linked binary would fail in a build or run image without our glibc.
check_static() {
    if command -v readelf >/dev/null && readelf -l "$1" | grep -q 'Requesting program interpreter'; then
        echo "error: $1 is dynamically linked; the CNB binaries must be static" >&2
        exit 1
    fi
}

mkdir -p "$out/lifecycle" "$out/buildpacks"
check_static "$bin/lifecycle"
install_file "$bin/lifecycle" "$out/lifecycle/lifecycle" 755
for phase in detector builder creator launcher; do
    ln -sfn lifecycle "$out/lifecycle/$phase"
done
install_file buildpacks/order.toml "$out/order.toml" 644

for bp in $buildpacks; do
    descriptor=buildpacks/$bp/buildpack.toml
    id=$(sed -n 's/^id = "\(.*\)"$/\1/p' "$descriptor" | head -n 1)
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$descriptor" | head -n 1)
    if [ -z "$id" ] || [ -z "$version" ]; then
        echo "error: $descriptor has no [buildpack] id or version" >&2
        exit 1
    fi
    dir=$out/buildpacks/$(printf %s "$id" | tr / _)/$version
    mkdir -p "$dir/bin"
    check_static "$bin/buildpack-$bp"
    install_file "$descriptor" "$dir/buildpack.toml" 644
    install_file "$bin/buildpack-$bp" "$dir/bin/build" 755
    # libcnb picks the phase from argv[0]'s name: one binary under both names.
    ln -f "$dir/bin/build" "$dir/bin/detect"
done

printf '%s\n' "$out"
