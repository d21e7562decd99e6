// What every benchmark program shares: one shape of state, the data sets
// built from it (made once per run and cached, outside any timed region),
// stores filled with them, and the machine's own cost of a durable write.
//
// The state shape: a 30-byte name ("Channel-0000000042/Operational"), a
// 10-digit record number, a timestamp with 100 ns precision (as Windows
// gives them) and a 100-byte bookmark shaped like Winlogbeat's XML.
//
// Stores and scratch files live in a fresh directory under $TMPDIR (default
// /tmp), removed at exit. Commits are made durable, so point TMPDIR at the
// disk you care about.
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/state.hpp"

namespace bench {

// State number `i` of every data set.
checkpoint::EventLogState make_state(std::size_t i);

// `size` states, and their names in order. Built once per size and run.
struct DataSet {
  checkpoint::StateMap states;
  std::vector<std::string> names;
};
DataSet& data_set(std::size_t size);

// Changes a state as a shipper would: the next record, a later timestamp.
void advance(checkpoint::EventLogState& state);

// A fresh directory of this run, removed at exit.
const std::filesystem::path& run_dir();

// The config string of a store of `backend` ("yaml", "json", "sqlite",
// "lmdb") holding data_set(size); filled on first use, once per run.
std::string filled_store(const std::string& backend, std::size_t size);

// The file or directory a config string made by filled_store() names.
std::filesystem::path store_path(const std::string& uri);

// Bytes a store's data takes on disk (a file, or a directory's files).
std::size_t bytes_on_disk(const std::filesystem::path& path);

// What the states would take as bare data: name, bookmark, 8 bytes of
// record number and 12 of timestamp each. The least any store must write.
std::size_t payload_bytes(const checkpoint::StateMap& states,
                          const std::vector<std::string>& names);

// A benchmark's name: the parts joined with '/'. (Built this way because
// g++ 12 warns wrongly (-Wrestrict) about "literal" + std::string.)
std::string name(std::initializer_list<std::string_view> parts);

// The machine's floor for one durable write of `bytes`: write a new file,
// fsync it, rename it over the old one, fsync the directory. Seconds taken.
double durable_write_seconds(std::size_t bytes);

// main() of a program whose benchmarks `register_all` registers at run time.
int run(int argc, char** argv, void (*register_all)());

}  // namespace bench
