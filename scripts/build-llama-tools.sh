#!/usr/bin/env bash
# Builds llama.cpp's own reference tools — llama-completion, llama-bench, llama-server, rpc-server,
# llama-quantize — and a small llama-render-template helper, linked against the very llama.cpp
# libraries keybot links: the static libraries that llama-cpp-sys-2's build script leaves in its
# OUT_DIR. Both sides of the byte-for-byte chat test and of the benchmark then run the same object
# code, and llama.cpp is compiled once per build profile instead of twice (it was the largest part
# of a cold CI run).
#
# The vendored copy ships without the tools' sources (tools/*/ hold only READMEs). The official
# sources of tools/completion, tools/llama-bench, tools/rpc, tools/quantize and tools/server come from the llama-cpp-python sdist on PyPI,
# which vendors llama.cpp (a slightly older revision than the crate's: see llama-server-compat.h); each small tool is one .cpp file plus a main.cpp, compiled here
# against the crate's headers. llama-server is larger (tools/server, plus the mtmd library of
# tools/mtmd and a UI-assets library, here an empty one: keybot needs no web UI); its translation
# units are compiled one by one into objects in the cache, then linked the same way. Everything
# fetched or built lives in the cache; nothing fetched is ever written into the repository.
#
#   eval "$(bash scripts/build-llama-tools.sh)"                  # for `cargo test` (dev profile)
#   eval "$(bash scripts/build-llama-tools.sh --release --bin keybot)"   # for a release benchmark
# The arguments are cargo build's: the build that produces the libraries (fresh after a build with
# the same arguments). Takes about 20 s once the libraries exist, plus about 2 minutes on 2 cores
# for llama-server's first build (its objects are kept, so an interrupted build resumes). Prints
# `export` lines; build output goes to <cache>/llama-tools/…/build.log, progress to stderr.
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
      "$out_dir/lib/libggml-rpc.a"
      "$out_dir/lib/libggml-base.a" "$out_dir/build/vendor/cpp-httplib/libcpp-httplib.a"
      "$out_dir/build/vendor/hash/libvendor-hash.a")
for l in "${libs[@]}"; do
  [ -f "$l" ] || { echo "build-llama-tools: $l is missing (a new llama-cpp-sys-2 layout, or a build without GGML_RPC=ON from .cargo/config.toml?)" >&2; exit 1; }
done

# What a consumer of llama-common is compiled with (CMake's PUBLIC definitions: CPPHTTPLIB_OPENSSL_SUPPORT,
# which changes cpp-httplib's classes; LLAMA_SUBPROCESS, which the server's tools and router mode
# need; GGML_USE_CPU). Only llama-server's translation units use them, as upstream's CMake does.
common_flags="$out_dir/build/common/CMakeFiles/llama-common.dir/flags.make"
if [ -f "$common_flags" ]; then
  server_defs=$(sed -n 's/^CXX_DEFINES = //p' "$common_flags")
else
  server_defs="-DCPPHTTPLIB_OPENSSL_SUPPORT -DGGML_USE_CPU -DLLAMA_SUBPROCESS"
fi
# The sdist's llama.cpp is a little older than the crate's: its server calls fs_open_ifstream(),
# which the crate's common no longer has; a one-line definition is force-included if so.
server_compat=""
if ! grep -q 'fs_open_ifstream' "$crate_src/common/common.h"; then
  server_compat="$repo/scripts/llama-server-compat.h"
fi

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
want_stamp="llama-cpp-python=$LLAMA_CPP_PYTHON_VERSION helper=$(sha256sum scripts/llama-render-template.cpp | cut -c1-16) server=mtmd,ui-empty defs=$server_defs compat=$(sha256sum scripts/llama-server-compat.h | cut -c1-16)${server_compat:+,on} flags=$cxx_flags libs=$(stat -c '%Y %s' "${libs[@]}" | sha256sum | cut -c1-16)"

emit() {
  echo "export KEYBOT_LLAMA_COMPLETION=$bin/llama-completion"
  echo "export KEYBOT_LLAMA_BENCH=$bin/llama-bench"
  echo "export KEYBOT_LLAMA_RENDER_TEMPLATE=$bin/llama-render-template"
  echo "export KEYBOT_LLAMA_SERVER=$bin/llama-server"
  echo "export KEYBOT_RPC_SERVER=$bin/rpc-server"
  echo "export KEYBOT_LLAMA_QUANTIZE=$bin/llama-quantize"
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] \
   && [ -x "$bin/llama-completion" ] && [ -x "$bin/llama-bench" ] && [ -x "$bin/llama-render-template" ] \
   && [ -x "$bin/llama-server" ] && [ -x "$bin/rpc-server" ] && [ -x "$bin/llama-quantize" ]; then
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
if [ ! -f "$tools_src/completion/completion.cpp" ] || [ ! -f "$tools_src/llama-bench/llama-bench.cpp" ] \
   || [ ! -f "$tools_src/server/main.cpp" ]; then
  rm -rf "$sdist_dir"
  mkdir -p "$sdist_dir"
  # The sdist of llama-cpp-python itself (`--no-binary :all:` would also force its build
  # backend's dependencies — cmake, ninja — to be compiled from source just to read metadata).
  echo "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION --hash=sha256:$LLAMA_CPP_PYTHON_SHA256" > "$sdist_dir/requirements.txt"
  pip download --quiet --no-binary llama-cpp-python --no-deps --disable-pip-version-check \
    --require-hashes -r "$sdist_dir/requirements.txt" -d "$sdist_dir" >&2
  tar -xzf "$sdist_dir"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION".tar.gz -C "$sdist_dir"
fi
for f in completion/completion.cpp completion/main.cpp llama-bench/llama-bench.cpp llama-bench/main.cpp rpc/rpc-server.cpp \
         quantize/quantize.cpp quantize/main.cpp \
         server/CMakeLists.txt server/main.cpp mtmd/CMakeLists.txt ui/ui.h.in ui/ui.cpp.in ../scripts/ui-assets.cmake; do
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
# rpc-server is a main() around ggml-rpc's own server: the protocol is the library's, keybot's.
link rpc-server "$tools_src/rpc/rpc-server.cpp"
# llama-quantize: scripts/random-gguf.sh's Q8_0 file into the usual Q4_K_M, for benchmarks.
link llama-quantize "$tools_src/quantize/quantize.cpp" "$tools_src/quantize/main.cpp"

# 4. llama-server: upstream's CMake targets, by hand. server-context + llama-server-impl + main.cpp
#    (every .cpp that tools/server/CMakeLists.txt names), the `mtmd` library (the sources its
#    add_library(mtmd …) lists; the sdist's own copy, not the crate's tools/mtmd: the server calls
#    mtmd's API as of the sdist's llama.cpp) and `llama-ui`, generated by upstream's
#    scripts/ui-assets.cmake with the npm build and the Hugging Face download off: an empty asset
#    table (the server then answers / with a 404 and serves the API alone). Each translation unit
#    becomes one object in $obj, logged to <object>.log, so a failure names its file; objects
#    survive a failed run (kept under the same stamp) and are compiled N at a time
#    (KEYBOT_LLAMA_TOOLS_JOBS, default: every core).
server_start=$SECONDS
obj="$cache/obj"
if [ ! -f "$obj/stamp" ] || [ "$(cat "$obj/stamp")" != "$want_stamp" ]; then
  rm -rf "$obj"
  mkdir -p "$obj"
  echo "$want_stamp" > "$obj/stamp"
fi
ui_dir="$obj/ui"
mkdir -p "$ui_dir"
cmake -DUI_SOURCE_DIR="$tools_src/ui" -DUI_BINARY_DIR="$ui_dir" -DLLAMA_SOURCE_DIR="$tools_src/.." \
  -DHF_ENABLED=OFF -DBUILD_UI=OFF -DLLAMA_UI_GZIP=OFF -P "$tools_src/../scripts/ui-assets.cmake" >> "$log" 2>&1 \
  || { echo "build-llama-tools: generating llama-server's (empty) UI assets failed; see $log" >&2; exit 1; }
[ -f "$ui_dir/ui.h" ] && [ -f "$ui_dir/ui.cpp" ] \
  || { echo "build-llama-tools: scripts/ui-assets.cmake wrote no ui.h/ui.cpp" >&2; exit 1; }

mapfile -t server_srcs < <(grep -o '[A-Za-z0-9_./-]*\.cpp' "$tools_src/server/CMakeLists.txt" | sort -u)
mapfile -t mtmd_srcs < <(sed -n '/^add_library(mtmd$/,/^ *)$/p' "$tools_src/mtmd/CMakeLists.txt" \
  | grep -o '[A-Za-z0-9_./-]*\.cpp')
if [ ${#server_srcs[@]} -eq 0 ] || [ ${#mtmd_srcs[@]} -eq 0 ]; then
  echo "build-llama-tools: no sources found in tools/server or tools/mtmd's CMakeLists.txt (a new layout?)" >&2
  exit 1
fi
inc_common=(-I "$crate_src/include" -I "$crate_src/common" -I "$crate_src/ggml/include" -I "$crate_src/vendor")
# shellcheck disable=SC2206
server_flags=(-I "$tools_src/server" -I "$tools_src/mtmd" -I "$crate_src" -I "$ui_dir" "${inc_common[@]}" $server_defs
              ${server_compat:+-include "$server_compat"})
mtmd_flags=(-I "$tools_src/mtmd" "${inc_common[@]}" -DGGML_USE_CPU)
# MTMD_VIDEO (video input through an ffmpeg subprocess) is on upstream whenever LLAMA_SUBPROCESS is.
case " $server_defs " in *" -DLLAMA_SUBPROCESS "*) mtmd_flags+=(-DMTMD_VIDEO) ;; esac

# object_of SRC: where SRC's object goes, $obj/<its path below tools/ or $obj>.o.
object_of() {
  local rel=${1#"$tools_src/"}
  rel=${rel#"$obj/"}
  echo "$obj/${rel%.cpp}.o"
}

# compile KIND SRC OBJ: one translation unit into OBJ; nothing when the object exists (it is
# written under another name and renamed only once complete).
compile() {
  local kind=$1 src=$2 o=$3
  local -a flags
  [ -f "$o" ] && return 0
  case $kind in
    server) flags=("${server_flags[@]}") ;;
    mtmd)   flags=("${mtmd_flags[@]}") ;;
    ui)     flags=(-I "$ui_dir") ;;
  esac
  mkdir -p "$(dirname "$o")"
  # shellcheck disable=SC2086
  if ${CXX:-c++} -c $cxx_flags "${flags[@]}" "$src" -o "$o.tmp" > "$o.log" 2>&1; then
    mv "$o.tmp" "$o"
  else
    echo "build-llama-tools: compiling $src failed (log: $o.log):" >&2
    tail -n 30 "$o.log" >&2
    return 1
  fi
}
units=()
for f in "${server_srcs[@]}"; do units+=("server $tools_src/server/$f"); done
for f in "${mtmd_srcs[@]}"; do units+=("mtmd $tools_src/mtmd/$f"); done
units+=("ui $ui_dir/ui.cpp")
jobs_max="${KEYBOT_LLAMA_TOOLS_JOBS:-$(nproc)}"
echo "build-llama-tools: compiling llama-server's ${#units[@]} translation units, $jobs_max at a time" >&2
objs=()
for u in "${units[@]}"; do
  kind=${u%% *}; src=${u#* }
  o=$(object_of "$src")
  objs+=("$o")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  compile "$kind" "$src" "$o" &
done
wait
failed=0
for o in "${objs[@]}"; do
  if [ -s "$o.log" ]; then { echo "== ${o#"$obj/"}"; cat "$o.log"; } >> "$log"; fi
  [ -f "$o" ] || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
  echo "build-llama-tools: $failed of llama-server's translation units failed to compile (above)" >&2
  exit 1
fi
link llama-server "${objs[@]}"
echo "build-llama-tools: llama-server built in $((SECONDS - server_start)) s" >&2

echo "$want_stamp" > "$stamp"
echo "build-llama-tools: done" >&2
emit
