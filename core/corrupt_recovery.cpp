#include "core/corrupt_recovery.hpp"

#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>
#include <vector>

#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "checkpoint/toolkit/system_calls.hpp"
#include "checkpoint/writer_lock.hpp"

namespace checkpoint::detail {
namespace {

namespace fs = std::filesystem;
using toolkit::sys;

bool present(const fs::path& file) {
  struct stat st {};
  return sys().lstat(file.c_str(), &st) == 0;
}

// FILE.corrupt-TIME, or FILE.corrupt-TIME-N if that is taken.
fs::path aside_name(const fs::path& file, const std::string& time) {
  const std::string base = file.string() + ".corrupt-" + time;
  fs::path name = base;
  for (int n = 1; present(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string corrupt_suffix_time() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

Recovery recover_corrupt_store(std::string_view uri, CorruptPolicy policy, const Error& damage) {
  const StoreUri parsed = parse_store_uri(uri);
  const std::string label = parsed.text;  // any password masked
  const std::vector<fs::path> files = store_files(uri);
  const StoreMover mover = files.empty() ? store_mover(uri) : StoreMover();
  if (files.empty() && !mover) {
    throw Error(ErrorCode::corrupt, std::string(damage.what()) +
                                        " (on_corrupt cannot move it aside: the " + parsed.scheme +
                                        " backend lists no files of its stores)");
  }

  Recovery out;
  Salvage salvaged;
  std::vector<std::string> moved;
  auto salvage = [&] {
    try {
      salvaged = Store::open(uri, {.mode = OpenMode::read})->salvage();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      salvaged = {};
      salvaged.damage.push_back({"", e.what(), ""});
    }
  };
  if (mover) {
    // A store in a shared database: read, then renamed under its lock by
    // the backend (a writer that takes it in between changes nothing a
    // salvage read: the store is damaged, and a writer cannot load it).
    if (policy == CorruptPolicy::salvage) salvage();
    moved.push_back(mover(parsed, ".corrupt-" + corrupt_suffix_time()));
  } else {
    WriterLock lock =
        WriterLock::acquire(files.front(), label, toolkit::lock_timeout_option(parsed));
    if (policy == CorruptPolicy::salvage) salvage();
    const std::string time = corrupt_suffix_time();
    std::set<fs::path> dirs;
    for (const fs::path& file : files) {
      if (!present(file)) continue;
      const fs::path aside = aside_name(file, time);
      if (sys().rename(file.c_str(), aside.c_str()) != 0) {
        throw toolkit::system_error(ErrorCode::io, label,
                                    "cannot move the damaged " + file.string() + " aside to " +
                                        aside.string() +
                                        " (moved so far: " + std::to_string(moved.size()) + ")",
                                    errno);
      }
      moved.push_back(aside.string());
      dirs.insert(file.parent_path().empty() ? fs::path(".") : file.parent_path());
    }
    for (const auto& dir : dirs) toolkit::sync_directory(dir, label);
  }  // the lock is released here, and taken again by the store opened anew

  out.store = Store::open(uri, {.mode = OpenMode::write, .create_if_missing = true});
  out.store->load();  // before it commits, as a writer does
  if (policy == CorruptPolicy::salvage) {
    out.salvaged = salvaged.readable.states.size();
    out.lost = salvaged.damage.size();
    Timestamp update_time = salvaged.readable.update_time;
    if (update_time.is_zero()) update_time = Timestamp::now();
    out.store->commit(Changes{update_time, salvaged.readable.states, {}});
  } else {
    out.lost = 1;
  }

  std::string report = label + " was damaged (" + damage.what() +
                       "); on_corrupt=" + (policy == CorruptPolicy::salvage ? "salvage" : "reset") +
                       (mover ? " moved it aside as " : " moved its files aside as ");
  for (std::size_t i = 0; i < moved.size(); ++i) report += (i ? ", " : "") + moved[i];
  if (policy == CorruptPolicy::salvage) {
    report +=
        "; started from the " + plural(out.salvaged, "state", "states") + " that read back exactly";
    if (salvaged.damage.empty()) {
      report += ", nothing else was lost";
    } else {
      report += "; lost " + plural(out.lost, "thing", "things") + ":";
      for (const Damage& d : salvaged.damage) {
        report += " [";
        if (!d.name.empty()) report += "state \"" + d.name + "\", ";
        if (!d.where.empty()) report += d.where + ": ";
        report += d.what + "]";
      }
    }
  } else {
    report += "; started empty: every state was lost";
  }
  out.report = std::move(report);
  return out;
}

}  // namespace checkpoint::detail
