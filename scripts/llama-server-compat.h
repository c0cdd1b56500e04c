// Force-included (-include) into llama-server's translation units by scripts/build-llama-tools.sh,
// and only when the crate's common/common.h lacks what is defined here.
//
// llama-server's sources come from the llama-cpp-python sdist, a slightly older llama.cpp than
// the crate's, but are compiled against the crate's headers and linked with the crate's
// libllama-common. Newer llama.cpp dropped fs_open_ifstream() from common (tools/server/server-mcp.cpp
// still calls it to read --mcp-servers-config); this is its non-Windows body, verbatim.
#pragma once

#include <fstream>
#include <ios>
#include <string>

inline std::ifstream fs_open_ifstream(const std::string & fname, std::ios_base::openmode mode) {
    return std::ifstream(fname, mode);
}
