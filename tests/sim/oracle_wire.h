// The oracle's own reading of the messages it follows (tokens, markers, snapshot starts, the ring's
// answer to its first node),
// written from the message format the README documents, not with the codec under test: if the
// codec drifted from the format, the oracle would disagree with the nodes and say so.
//
// Every message starts with its type byte; integers are big-endian.
//   token (1):  kind u8 (0 free, 1 busy), epoch u32, src u16, dst u16, msg_id u64,
//               src_incarnation u64, copied u8, payload length u16, payload
//   marker (2): snapshot id u64
//   start (3):  snapshot id u64, abandon_before u64
//   ack (7):    command id u64, ok u8
//   ring state (11): had_token u8, epoch u32 (the successor's answer to the first node's query)
//   recover (12): command id u64, mode u8 (1 regenerate, 2 rollback), epoch u32, issuer u16, snapshot u64, term u32
//   view (18): command id u64, epoch u32, term u32, members length u16, members (bit i of byte i/8,
//              least significant first: the configured ring's i-th node)
//   issue token (19): command id u64, epoch u32, term u32
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace ringwatch::sim::oracle_wire {

enum class Kind : std::uint8_t { other, token, marker, start, ring_state, recover, ack, view, issue, promise };

struct Read {
    Kind kind = Kind::other;
    std::uint64_t snapshot = 0;  // marker, start, recover (rollback)
    bool busy = false;           // token
    std::uint16_t src = 0, dst = 0;
    bool copied = false;
    bool had_token = false;                 // ring state
    std::uint32_t epoch = 0;                // token, ring state, recover
    std::uint16_t issuer = 0;               // recover
    bool rollback = false;                  // recover: mode 2
    std::uint64_t command = 0;              // recover, ack
    bool ok = false;                        // ack
    std::optional<std::uint64_t> app_seq;   // a busy token carrying one of the simulator's messages
    std::span<const std::uint8_t> members;  // view: the bitmap (valid as long as the message)
    std::uint32_t term = 0;                 // recover, view, issue, promise
    std::uint64_t round = 0;                // promise (0: a claim's; later: a leader asking again)
};

inline std::uint64_t be(std::span<const std::uint8_t> m, std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | m[at + i];
    return v;
}

inline Read read(std::span<const std::uint8_t> m) {
    Read r;
    if (m.empty()) return r;
    switch (m[0]) {
        case 1:
            if (m.size() < 29) return r;
            r.kind = Kind::token;
            r.busy = m[1] == 1;
            r.epoch = static_cast<std::uint32_t>(be(m, 2, 4));
            r.src = static_cast<std::uint16_t>(be(m, 6, 2));
            r.dst = static_cast<std::uint16_t>(be(m, 8, 2));
            r.copied = m[26] == 1;
            if (r.busy && be(m, 27, 2) == 8 && m.size() == 37) {
                std::uint64_t seq = 0;  // the simulator writes its sequence numbers in host order
                std::memcpy(&seq, m.data() + 29, 8);
                r.app_seq = seq;
            }
            return r;
        case 2:
            if (m.size() != 9) return r;
            r.kind = Kind::marker;
            r.snapshot = be(m, 1, 8);
            return r;
        case 3:
            if (m.size() != 17) return r;
            r.kind = Kind::start;
            r.snapshot = be(m, 1, 8);
            return r;
        case 11:
            if (m.size() != 6) return r;
            r.kind = Kind::ring_state;
            r.had_token = m[1] == 1;
            r.epoch = static_cast<std::uint32_t>(be(m, 2, 4));
            return r;
        case 7:
            if (m.size() != 10) return r;
            r.kind = Kind::ack;
            r.command = be(m, 1, 8);
            r.ok = m[9] == 1;
            return r;
        case 12:
            if (m.size() != 28 || (m[9] != 1 && m[9] != 2)) return r;
            r.kind = Kind::recover;
            r.command = be(m, 1, 8);
            r.rollback = m[9] == 2;
            r.snapshot = be(m, 16, 8);
            r.epoch = static_cast<std::uint32_t>(be(m, 10, 4));
            r.issuer = static_cast<std::uint16_t>(be(m, 14, 2));
            r.term = static_cast<std::uint32_t>(be(m, 24, 4));
            return r;
        case 18:
            if (m.size() < 19 || m.size() != 19 + be(m, 17, 2)) return r;
            r.kind = Kind::view;
            r.command = be(m, 1, 8);
            r.epoch = static_cast<std::uint32_t>(be(m, 9, 4));
            r.term = static_cast<std::uint32_t>(be(m, 13, 4));
            r.members = m.subspan(19);
            return r;
        case 19:
            if (m.size() != 17) return r;
            r.kind = Kind::issue;
            r.command = be(m, 1, 8);
            r.epoch = static_cast<std::uint32_t>(be(m, 9, 4));
            r.term = static_cast<std::uint32_t>(be(m, 13, 4));
            return r;
        case 23:
            if (m.size() != 24) return r;
            r.kind = Kind::promise;
            r.term = static_cast<std::uint32_t>(be(m, 1, 4));
            r.round = be(m, 5, 8);
            r.ok = m[13] == 1;
            return r;
        default: return r;
    }
}

}  // namespace ringwatch::sim::oracle_wire
