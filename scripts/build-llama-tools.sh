#!/usr/bin/env bash
# Builds llama.cpp's own reference tools — llama-completion, llama-bench — and a small
# llama-render-template helper from the llama.cpp source vendored inside the llama-cpp-sys-2 crate
# keybot links, so both sides of the correctness test and the benchmark run the same llama.cpp
# revision.
#
# The vendored copy ships without the tools' sources (tools/*/ hold only READMEs). The official
# sources of tools/completion and tools/llama-bench come from the llama-cpp-python sdist on PyPI,
# which vendors the same llama.cpp tree. They are copied into a copy of the vendored tree with a
# tools/CMakeLists.txt that adds only those two, and built with the native CPU flags (as keybot's
# llama.cpp is). Everything fetched or built lives in the cache, keyed by the crate version;
# nothing fetched is ever written into the repository.
#
# Takes ~15 minutes of two cores the first time, seconds afterwards. Prints `export` lines:
#   eval "$(bash scripts/build-llama-tools.sh)"
# Build output goes to $cache/llama-tools/<version>/build.log; progress to stderr.
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
crate_dir=""
for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/llama-cpp-sys-2-"$crate_version"; do
  if [ -d "$d/llama.cpp" ]; then crate_dir="$d"; fi
done
if [ -z "$crate_dir" ]; then
  echo "build-llama-tools: llama-cpp-sys-2 $crate_version is not in the cargo registry; run 'cargo fetch' first" >&2
  exit 1
fi

# Built with -march=native: keyed by the CPU (model and flags) as well as the version, so a cache
# moved to another CPU builds anew instead of crashing with SIGILL.
cpu_key="${KEYBOT_CPU_KEY:-$(grep -m2 -E '^(model name|flags)' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)}"
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}/llama-tools/llama-cpp-sys-2-$crate_version-$cpu_key"
bin="$cache/bin"
stamp="$cache/stamp"
# No AMX: on a CPU that has it, -march=native compiles ggml's AMX kernels in, and the tools then
# die with SIGILL (tilezero) in their worker threads; keybot's own build does not run those
# kernels, so without them both sides also compute with the same code. Explicit -mno-* flags win
# over -march=native in GCC whatever their order.
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
# -O2, as llama-cpp-sys-2 builds keybot's copy (CMake's RelWithDebInfo): at -O3 GCC vectorises and
# contracts floating point differently, and on an AVX-512 CPU greedy decoding then drifts apart
# after a few dozen tokens.
opt="-O2 -DNDEBUG"
# And the flags the cc crate gives keybot's copy (its CMakeCache's CMAKE_C_FLAGS). -fPIC above
# all: with it GCC must assume ggml's global functions can be interposed, which can change what
# it inlines and so where it contracts multiply-adds into FMAs.
cc_flags="-ffunction-sections -fdata-sections -fPIC $no_amx"
want_stamp="llama-cpp-sys-2=$crate_version llama-cpp-python=$LLAMA_CPP_PYTHON_VERSION helper=$(sha256sum scripts/llama-render-template.cpp | cut -c1-16) flags=$cc_flags $opt"

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
echo "build-llama-tools: building llama.cpp tools for llama-cpp-sys-2 $crate_version (log: $log)" >&2

# 1. The tools' sources from the llama-cpp-python sdist.
sdist_dir="$cache/sdist"
if [ ! -d "$sdist_dir/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp/tools/completion" ]; then
  rm -rf "$sdist_dir"
  mkdir -p "$sdist_dir"
  # The sdist of llama-cpp-python itself (`--no-binary :all:` would also force its build
  # backend's dependencies — cmake, ninja — to be compiled from source just to read metadata).
  echo "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION --hash=sha256:$LLAMA_CPP_PYTHON_SHA256" > "$sdist_dir/requirements.txt"
  pip download --quiet --no-binary llama-cpp-python --no-deps --disable-pip-version-check \
    --require-hashes -r "$sdist_dir/requirements.txt" -d "$sdist_dir" >&2
  tar -xzf "$sdist_dir"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION".tar.gz -C "$sdist_dir"
fi
tools_src="$sdist_dir/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp/tools"
for t in completion llama-bench; do
  if [ ! -f "$tools_src/$t/CMakeLists.txt" ]; then
    echo "build-llama-tools: the sdist has no tools/$t sources" >&2
    exit 1
  fi
done

# 2. A copy of the vendored tree with exactly those two tools.
src="$cache/src"
rm -rf "$src"
cp -a "$crate_dir/llama.cpp" "$src"
chmod -R u+w "$src"
for t in completion llama-bench; do
  rm -rf "${src:?}/tools/$t"
  cp -a "$tools_src/$t" "$src/tools/$t"
done
cat > "$src/tools/CMakeLists.txt" <<'CMAKE'
# keybot: only the two reference tools (see scripts/build-llama-tools.sh).
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(completion)
add_subdirectory(llama-bench)
CMAKE

# 3. Configure and build, native CPU flags, static so the binaries stand alone in the cache.
build="$cache/build"
rm -rf "$build"  # a clean configure: flags left in an old CMakeCache would survive
jobs=$(nproc 2>/dev/null || echo 2)
{
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF \
    -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF \
    -DCMAKE_C_FLAGS="$cc_flags" -DCMAKE_CXX_FLAGS="$cc_flags" \
    -DCMAKE_C_FLAGS_RELEASE="$opt" -DCMAKE_CXX_FLAGS_RELEASE="$opt"
  cmake --build "$build" -j "$jobs" --target llama-completion llama-bench
} >> "$log" 2>&1 || { echo "build-llama-tools: build failed; see $log" >&2; tail -n 30 "$log" >&2; exit 1; }

mkdir -p "$bin"
for t in llama-completion llama-bench; do
  found=$(find "$build" -type f -name "$t" -perm -u+x | head -n1)
  if [ -z "$found" ]; then
    echo "build-llama-tools: $t was not built; see $log" >&2
    exit 1
  fi
  cp "$found" "$bin/$t"
done

# 4. The template helper, linked against the same static libraries.
libs=$(find "$build" -name '*.a' | sort)
# shellcheck disable=SC2086
${CXX:-c++} -O2 -std=c++17 -march=native $no_amx \
  -I "$src/include" -I "$src/common" -I "$src/ggml/include" -I "$src/vendor" \
  "$repo/scripts/llama-render-template.cpp" \
  -Wl,--start-group $libs -Wl,--end-group -fopenmp -lpthread -ldl \
  -o "$bin/llama-render-template" >> "$log" 2>&1 \
  || { echo "build-llama-tools: the template helper failed to build; see $log" >&2; tail -n 30 "$log" >&2; exit 1; }

echo "$want_stamp" > "$stamp"
echo "build-llama-tools: done" >&2
emit
