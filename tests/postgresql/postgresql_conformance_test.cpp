// The conformance suite on the postgresql: backend, against the private test
// server: each case's store is named after the case's own directory, so the
// cases share one database and never one store. (The suite's damage and
// power-cut cases skip themselves: the store keeps no files of its own.)
#include "checkpoint/conformance.hpp"
#include "tests/postgresql/test_server.hpp"

CHECKPOINT_CONFORMANCE_SUITE(Postgresql, [](const std::filesystem::path& dir) {
  return pgtest::store_uri(dir.string());
});
