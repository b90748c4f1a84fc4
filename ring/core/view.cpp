// Views as bitmaps over the configured ring.
#include "ring/core/view.h"

#include <algorithm>

#include "ring/core/check.h"

namespace ringwatch {

Bytes view_bitmap(const std::vector<NodeId>& ring, const std::vector<NodeId>& members) {
    Bytes b((ring.size() + 7) / 8, 0);
    for (NodeId m : members) {
        const auto it = std::find(ring.begin(), ring.end(), m);
        RW_ASSERT(it != ring.end());  // a view names configured nodes only
        const auto i = static_cast<std::size_t>(it - ring.begin());
        b[i / 8] = static_cast<std::uint8_t>(b[i / 8] | (1u << (i % 8)));
    }
    return b;
}

std::optional<std::vector<NodeId>> view_members(const std::vector<NodeId>& ring, std::span<const std::uint8_t> bitmap) {
    if (bitmap.size() != (ring.size() + 7) / 8) return std::nullopt;
    std::vector<NodeId> members;
    for (std::size_t byte = 0; byte < bitmap.size(); ++byte) {
        for (std::size_t bit = 0; bit < 8; ++bit) {
            if (!(bitmap[byte] & (1u << bit))) continue;
            const std::size_t i = byte * 8 + bit;
            if (i >= ring.size()) return std::nullopt;
            members.push_back(ring[i]);
        }
    }
    if (members.empty()) return std::nullopt;
    return members;
}

std::optional<Neighbours> neighbours_in(const std::vector<NodeId>& members, NodeId self) {
    const auto it = std::find(members.begin(), members.end(), self);
    if (it == members.end()) return std::nullopt;
    const auto i = static_cast<std::size_t>(it - members.begin());
    const std::size_t n = members.size();
    return Neighbours{members[(i + n - 1) % n], members[(i + 1) % n]};
}

}  // namespace ringwatch
