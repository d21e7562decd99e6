// libFuzzer target: the JSON document loader on any bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/document_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace checkpoint;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  PersistedState loaded;
  if (fuzz::try_load(backends::parse_json_document, text, loaded)) fuzz::check_loaded(loaded);
  return 0;
}
