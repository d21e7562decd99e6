// postgresql://[USER@]HOST[:PORT][,HOST[:PORT]...]/DBNAME?store=NAME — states
// kept in a PostgreSQL database, shared by many stores (one row each in
// checkpoint_stores, one row per state in checkpoint_states: see
// pg_schema.cpp), so that state outlives the machine of its shipper.
//
// One writer per store, fenced: a writer takes the store with a
// session-level advisory lock and a new epoch in the store's row, and
// every commit proves in its own transaction that the epoch is still its
// own. A writer whose session ended and whose store another writer took
// meanwhile gets Error{locked} and never writes again; one whose session
// ended without that reconnects, takes its lock again and goes on. A
// commit writes only the changes, in one transaction and one round trip
// (then its COMMIT). Loads stream the rows (COPY, binary).
//
// Options: store (required), lock_timeout_ms (how long a new writer waits
// for the holder to go; default 0), io_timeout_ms (silence after which a
// connection is taken as lost; default 10000), and libpq's own connection
// parameters (sslmode, connect_timeout, target_session_attrs, ...). A
// password may come from PGPASSWORD, .pgpass (passfile) or the config
// string; no message ever shows it. Also registered as postgres:.
#pragma once

#include <memory>
#include <vector>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

// The same backend under each of its two schemes.
BackendInfo postgresql_backend_info();
BackendInfo postgres_backend_info();
std::unique_ptr<Store> open_postgresql_store(const StoreUri& uri, const OpenOptions& options);
std::vector<StoreSummary> list_postgresql_stores(const StoreUri& uri);

}  // namespace checkpoint::backends
