#!/usr/bin/env bash
# Builds llama.cpp's own reference tools — llama-completion, llama-bench — and a small
# llama-render-template helper, linked against the very llama.cpp libraries keybot links: the
# static libraries that llama-cpp-sys-2's build script leaves in its OUT_DIR. Both sides of the
# byte-for-byte chat test and of the benchmark then run the same object code, and llama.cpp is
# compiled once per build profile instead of twice (it was the largest part of a cold CI run).
#
# The vendored copy ships without the tools' sources (tools/*/ hold only READMEs). The official
# sources of tools/completion and tools/llama-bench come from the llama-cpp-python sdist on PyPI,
# which vendors the same llama.cpp tree; each tool is one .cpp file plus a main.cpp, compiled here
# against the crate's headers. Everything fetched or built lives in the cache; nothing fetched is
# ever written into the repository.
#
#   eval "$(bash scripts/build-llama-tools.sh)"                  # for `cargo test` (dev profile)
#   eval "$(bash scripts/build-llama-tools.sh --release --bin keybot)"   # for a release benchmark
# The arguments are cargo build's: the build that produces the libraries (fresh after a build with
# the same arguments). Takes about 20 s once the libraries exist. Prints `export` lines; build
# output goes to <cache>/llama-tools/…/build.log, progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

LLAMA_CPP_PYTHON_VERSION=0.3.36
# sha256 of llama_cpp_python-0.3.36.tar.gz as PyPI serves it; pip refuses any other bytes.
LLAMA_CPP_PYTHON_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
crate_version=$(sed -n 's/^llama-cpp-sys-2 = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
if [ -z "$crate_version" ]; then
  echo "build-llama-tools: cannot find the pinned llama-cpp-sys-2 version in Cargo.toml" >&2
  exit 1
fi
cache_root="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"

# 1. keybot's llama.cpp: cargo reports the build script's OUT_DIR in its JSON messages (for a
#    fresh build too). The build's diagnostics still go to stderr as text.
#    KEYBOT_LLAMA_SYS_OUT names that OUT_DIR when the caller's own build already reported it
#    (scripts/test.sh), which saves a second cargo invocation.
out_dir="${KEYBOT_LLAMA_SYS_OUT:-}"
if [ -z "$out_dir" ]; then
  build_args=("$@")
  [ ${#build_args[@]} -gt 0 ] || build_args=(--workspace --features test-weak-kdf)
  out_dir=$(cargo build --locked --message-format=json-render-diagnostics "${build_args[@]}" \
    | bash scripts/llama-sys-out.sh) \
    || { echo "build-llama-tools: cargo build ${build_args[*]} failed" >&2; exit 1; }
fi
if [ -z "$out_dir" ] || [ ! -f "$out_dir/lib/libllama.a" ]; then
  echo "build-llama-tools: no llama-cpp-sys-2 $crate_version libraries in '$out_dir'" >&2
  exit 1
fi
crate_src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$out_dir/build/CMakeCache.txt")
if [ ! -f "$crate_src/include/llama.h" ]; then
  echo "build-llama-tools: llama.cpp's source is not where $out_dir/build/CMakeCache.txt says ($crate_src)" >&2
  exit 1
fi
# Link order matters for static libraries; the group lets the linker go round them.
libs=("$out_dir/lib/libllama-common.a" "$out_dir/build/common/libllama-common-base.a"
      "$out_dir/lib/libllama.a" "$out_dir/lib/libggml.a" "$out_dir/lib/libggml-cpu.a"
      "$out_dir/lib/libggml-base.a" "$out_dir/build/vendor/cpp-httplib/libcpp-httplib.a"
      "$out_dir/build/vendor/hash/libvendor-hash.a")
for l in "${libs[@]}"; do
  [ -f "$l" ] || { echo "build-llama-tools: $l is missing (a new llama-cpp-sys-2 layout?)" >&2; exit 1; }
done

# Keyed by the libraries' build (its OUT_DIR, one per profile and feature set) and what goes in.
out_key=$(printf '%s' "$out_dir" | sha256sum | cut -c1-12)
cache="$cache_root/llama-tools/llama-cpp-sys-2-$crate_version-$out_key"
bin="$cache/bin"
stamp="$cache/stamp"
# Optimised as keybot's copy is (CMake's Release) for the tools' own translation units; the
# arithmetic is in the libraries, which are keybot's own. No AMX: on a CPU
# that has it, -march=native would compile AMX code into the tools that keybot's copy leaves out
# (.cargo/config.toml); explicit -mno-* flags win over -march=native in GCC whatever their order.
cxx_flags="-O3 -DNDEBUG -std=c++17 -march=native -fPIC -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
want_stamp="llama-cpp-python=$LLAMA_CPP_PYTHON_VERSION helper=$(sha256sum scripts/llama-render-template.cpp | cut -c1-16) flags=$cxx_flags libs=$(stat -c '%Y %s' "${libs[@]}" | sha256sum | cut -c1-16)"

emit() {
  echo "export KEYBOT_LLAMA_COMPLETION=$bin/llama-completion"
  echo "export KEYBOT_LLAMA_BENCH=$bin/llama-bench"
  echo "export KEYBOT_LLAMA_RENDER_TEMPLATE=$bin/llama-render-template"
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] \
   && [ -x "$bin/llama-completion" ] && [ -x "$bin/llama-bench" ] && [ -x "$bin/llama-render-template" ]; then
  emit
  exit 0
fi

mkdir -p "$cache"
log="$cache/build.log"
: > "$log"
echo "build-llama-tools: linking llama.cpp's tools against $out_dir (log: $log)" >&2

# 2. The tools' sources from the llama-cpp-python sdist (shared by every profile's build).
sdist_dir="$cache_root/llama-tools/sdist-$LLAMA_CPP_PYTHON_VERSION"
tools_src="$sdist_dir/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp/tools"
if [ ! -f "$tools_src/completion/completion.cpp" ] || [ ! -f "$tools_src/llama-bench/llama-bench.cpp" ]; then
  rm -rf "$sdist_dir"
  mkdir -p "$sdist_dir"
  # The sdist of llama-cpp-python itself (`--no-binary :all:` would also force its build
  # backend's dependencies — cmake, ninja — to be compiled from source just to read metadata).
  echo "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION --hash=sha256:$LLAMA_CPP_PYTHON_SHA256" > "$sdist_dir/requirements.txt"
  pip download --quiet --no-binary llama-cpp-python --no-deps --disable-pip-version-check \
    --require-hashes -r "$sdist_dir/requirements.txt" -d "$sdist_dir" >&2
  tar -xzf "$sdist_dir"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION".tar.gz -C "$sdist_dir"
fi
for f in completion/completion.cpp completion/main.cpp llama-bench/llama-bench.cpp llama-bench/main.cpp; do
  [ -f "$tools_src/$f" ] || { echo "build-llama-tools: the sdist has no tools/$f" >&2; exit 1; }
done

# 3. Compile each tool's sources and link them with keybot's libraries; stripped (the libraries
#    carry debug info that would make each binary 160 MB).
mkdir -p "$bin"
link() {
  local out="$1"; shift
  # shellcheck disable=SC2086
  ${CXX:-c++} -s $cxx_flags \
    -I "$crate_src/include" -I "$crate_src/common" -I "$crate_src/ggml/include" -I "$crate_src/vendor" \
    "$@" -Wl,--start-group "${libs[@]}" -Wl,--end-group -fopenmp -lssl -lcrypto -lpthread -ldl \
    -o "$bin/$out.tmp" >> "$log" 2>&1 \
    || { echo "build-llama-tools: $out failed to build; see $log" >&2; tail -n 30 "$log" >&2; exit 1; }
  mv "$bin/$out.tmp" "$bin/$out"
}
link llama-completion "$tools_src/completion/completion.cpp" "$tools_src/completion/main.cpp"
link llama-bench "$tools_src/llama-bench/llama-bench.cpp" "$tools_src/llama-bench/main.cpp"
link llama-render-template "$repo/scripts/llama-render-template.cpp"

echo "$want_stamp" > "$stamp"
echo "build-llama-tools: done" >&2
emit
