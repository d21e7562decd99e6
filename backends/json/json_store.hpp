// json:PATH — the JSON document of json_format.hpp, one file rewritten per
// commit through the durable whole-file write:
//
//   {
//     "update_time": "2017-12-05T15:16:07.841893Z",
//     "event_logs": [
//       {"name": "Application", "record_number": 250502,
//        "timestamp": "2017-12-05T15:16:02.6721303Z"},
//       {"name": "...", "record_number": 204, "timestamp": "...", "bookmark": "<BookmarkList>..."}
//     ]
//   }
//
// record_number is a JSON integer (0 .. 2^64-1, never a float); bookmark
// appears only when non-empty. Option sync=off skips the fsyncs (unsafe).
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo json_backend_info();
std::unique_ptr<Store> open_json_store(const StoreUri& uri, const OpenOptions& options);

}  // namespace checkpoint::backends
