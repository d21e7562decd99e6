// Stats (checkpoint.hpp) as metrics that monitoring can scrape and alert on.
//
// prometheus_text() renders one Checkpoint's stats() in the Prometheus text
// exposition format (version 0.0.4, which OpenMetrics scrapers read too):
// for each metric a "# HELP" line, a "# TYPE" line and one sample carrying
// the labels the caller gives, in the order given. Serve it on an HTTP
// endpoint, or write it to a file for node_exporter's textfile collector
// (checkpoint-tail --metrics-file does, with toolkit::
// write_file_atomically()). The names follow Prometheus' conventions:
// prefix checkpoint_, units in the name (seconds), counters end in _total.
//
//   checkpoint_commits_total                      counter  successful store commits
//   checkpoint_failed_commits_total               counter  failed store commits
//   checkpoint_last_commit_failed                 gauge    1 while the last commit failed
//   checkpoint_states                             gauge    states held
//   checkpoint_pending_changes                    gauge    changed names not committed yet
//   checkpoint_in_flight_records                  gauge    track()ed records not ack()ed
//   checkpoint_acked_waiting_records              gauge    ack()ed, held back by an earlier one
//   checkpoint_last_commit_duration_seconds       gauge    the last commit's duration
//   checkpoint_max_commit_duration_seconds        gauge    the longest commit since the start
//   checkpoint_last_commit_timestamp_seconds      gauge    Unix time of the last successful
//                                                          commit (0 before the first)
//   checkpoint_oldest_change_age_seconds          gauge    age of the oldest change not
//                                                          committed yet (0 if none)
//   checkpoint_corrupt_recovered                  gauge    1 if on_corrupt moved a damaged
//                                                          store aside at opening
//   checkpoint_corrupt_salvaged_states            gauge    the states it started from
//   checkpoint_corrupt_lost_items                 gauge    what could not be read
//
// Alert on, say, time() - checkpoint_last_commit_timestamp_seconds growing
// while checkpoint_pending_changes > 0, on checkpoint_oldest_change_age_seconds
// above a few flush intervals, on checkpoint_last_commit_failed == 1, or on
// checkpoint_corrupt_recovered == 1 (someone should look at the files moved
// aside).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/export.h"

namespace checkpoint {

// Label names and values, as {"store", "/var/lib/shipper/state.db"}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// The metrics above, each sample with `labels`. Values are escaped as the
// format requires (backslash, double quote, line feed). A label name that
// is not [a-zA-Z_][a-zA-Z0-9_]*, one starting with "__" (reserved), a name
// given twice, or a value that is not UTF-8: Error{invalid_argument} naming
// the label.
CHECKPOINT_API std::string prometheus_text(const Stats& stats, const MetricLabels& labels = {});

}  // namespace checkpoint
