// Small strong types shared by every layer: ids, sequence numbers, incarnations, time.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <vector>

#include <fmt/format.h>

namespace ringwatch {

using Bytes = std::vector<std::uint8_t>;

// A strong integer: cannot be mixed up with another id or a plain number by accident.
template <typename Tag, typename Rep>
struct StrongInt {
    using rep = Rep;
    Rep value{};
    constexpr StrongInt() = default;
    constexpr explicit StrongInt(Rep v) : value(v) {}
    constexpr auto operator<=>(const StrongInt&) const = default;
};

struct NodeIdTag {};
struct SeqTag {};
struct IncarnationTag {};
struct EpochTag {};
struct SnapshotIdTag {};

// A ring member or the monitor. Node ids are small; the top of the range is reserved for tools.
using NodeId = StrongInt<NodeIdTag, std::uint16_t>;
// A per-link, per-session message sequence number; 64 bits so it never wraps.
using Seq = StrongInt<SeqTag, std::uint64_t>;
// One process start of a node, the monitor or a tool: its start time in microseconds, so it grows
// from one start to the next (see Link). 0 means "not known yet".
using Incarnation = StrongInt<IncarnationTag, std::uint64_t>;
// Token generation, bumped by recovery and by every view. Its top 20 bits are the term of the
// monitor that made it, less one (ring/core/term.h): two leaders never make the same epoch, and
// every epoch of a later term is newer than all of an earlier one.
using Epoch = StrongInt<EpochTag, std::uint32_t>;
using SnapshotId = StrongInt<SnapshotIdTag, std::uint64_t>;

inline constexpr Incarnation kUnknownIncarnation{0};

// A snapshot id carries, in its top 24 bits, the era of the monitor process that started it (drawn
// at random when the monitor starts), so a restarted monitor's ids never collide with its
// predecessor's and a node can tell which monitor a marker belongs to. People see the rest: the
// snapshot's number in its monitor's run, from 1.
inline constexpr int kSnapshotEraShift = 40;
inline constexpr std::uint32_t kSnapshotEraMask = 0xFF'FFFF;
inline constexpr std::uint32_t snapshot_era(SnapshotId id) { return static_cast<std::uint32_t>(id.value >> kSnapshotEraShift); }
inline constexpr std::uint64_t snapshot_number(SnapshotId id) { return id.value & ((std::uint64_t{1} << kSnapshotEraShift) - 1); }
inline constexpr SnapshotId first_snapshot_of_era(std::uint32_t era) {
    return SnapshotId{(std::uint64_t{era & kSnapshotEraMask} << kSnapshotEraShift) | 1};
}

// One-shot tools (ring inject, ring send) talk to nodes from ids in this range.
inline constexpr std::uint16_t kToolIdFirst = 0xF000;
inline constexpr std::uint16_t kToolIdLast = 0xFFEF;
inline constexpr bool is_tool_id(NodeId id) { return id.value >= kToolIdFirst && id.value <= kToolIdLast; }
// The monitors: the configured list's first is 0xFFFF, the next 0xFFFE, and so on (16 at most).
inline constexpr std::size_t kMaxMonitors = 16;
inline constexpr std::uint16_t kFirstMonitorId = 0xFFFF;
inline constexpr bool is_monitor_id(NodeId id) { return id.value > kToolIdLast; }
inline constexpr NodeId monitor_id(std::size_t index) { return NodeId{static_cast<std::uint16_t>(kFirstMonitorId - index)}; }
inline constexpr std::size_t monitor_index(NodeId id) { return static_cast<std::size_t>(kFirstMonitorId - id.value); }

// Time inside the cores is a value handed in by the caller: microseconds since an arbitrary origin.
// The tag clock has no now(): a core cannot read the time by itself.
struct CoreClock {
    using duration = std::chrono::microseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<CoreClock, duration>;
    static constexpr bool is_steady = true;
};
using Duration = std::chrono::microseconds;
using Instant = CoreClock::time_point;

inline constexpr Instant instant_us(std::int64_t us) { return Instant{Duration{us}}; }
inline constexpr std::int64_t to_us(Instant t) { return t.time_since_epoch().count(); }

}  // namespace ringwatch

template <typename Tag, typename Rep>
struct std::hash<ringwatch::StrongInt<Tag, Rep>> {
    std::size_t operator()(const ringwatch::StrongInt<Tag, Rep>& v) const noexcept { return std::hash<Rep>{}(v.value); }
};

// Snapshot ids print as their number in the monitor's run (see snapshot_number).
template <>
struct fmt::formatter<ringwatch::SnapshotId> : fmt::formatter<std::uint64_t> {
    auto format(const ringwatch::SnapshotId& v, fmt::format_context& ctx) const {
        return fmt::formatter<std::uint64_t>::format(ringwatch::snapshot_number(v), ctx);
    }
};

// Ids look the same in every log line and test message.
template <typename Tag, typename Rep>
struct fmt::formatter<ringwatch::StrongInt<Tag, Rep>> : fmt::formatter<Rep> {
    auto format(const ringwatch::StrongInt<Tag, Rep>& v, fmt::format_context& ctx) const { return fmt::formatter<Rep>::format(v.value, ctx); }
};
