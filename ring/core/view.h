// A view: the ring's membership in an epoch, as the monitor orders it (ViewOrder). The members are
// a subset of the configured ring, in its order (a view leaves nodes out, it never reorders them),
// so a view travels as one bit per configured position: 4096 nodes fit one message.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "ring/core/types.h"

namespace ringwatch {

// Bit i (of byte i / 8, least significant first) is the configured ring's i-th node.
Bytes view_bitmap(const std::vector<NodeId>& ring, const std::vector<NodeId>& members);
// The members a bitmap names, in ring order; nullopt when it does not fit the ring (a bit past
// its end, or the wrong length) or names nobody.
std::optional<std::vector<NodeId>> view_members(const std::vector<NodeId>& ring, std::span<const std::uint8_t> bitmap);

// A member's neighbours in a view: whom it receives from and passes to (a member alone is its own,
// and no ring: nodes refuse such a view); a node not in the view has none.
struct Neighbours {
    NodeId predecessor;
    NodeId successor;
    bool operator==(const Neighbours&) const = default;
};
std::optional<Neighbours> neighbours_in(const std::vector<NodeId>& members, NodeId self);

}  // namespace ringwatch
