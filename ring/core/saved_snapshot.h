// A node's saved state for one snapshot (what a rollback to it restores), and the byte formats of
// the node's state directory (those states, its delivery record, the term it promised). Decoding never throws and
// rejects anything malformed or out of bounds.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "ring/core/term.h"
#include "ring/core/token.h"

namespace ringwatch {

struct SavedSnapshot {
    SnapshotId id;
    TokenSavedState token;       // the node's state when it recorded
    std::vector<Token> channel;  // what it recorded arriving from its predecessor, in order
    bool operator==(const SavedSnapshot&) const = default;
};

// Bytes: "RWSS", version 1, then the fields (integers big-endian; tokens in the wire's format).
Bytes encode_saved(const SavedSnapshot& s);
std::optional<SavedSnapshot> decode_saved(std::span<const std::uint8_t> bytes);

// Bytes: "RWDL", version 1, then the record's fields.
Bytes encode_deliveries(const DeliveryRecord& r);
std::optional<DeliveryRecord> decode_deliveries(std::span<const std::uint8_t> bytes);

// Bytes: "RWPT", version 1, then the term and the monitor it was promised to.
Bytes encode_promise(const PromisedTerm& p);
std::optional<PromisedTerm> decode_promise(std::span<const std::uint8_t> bytes);

}  // namespace ringwatch
