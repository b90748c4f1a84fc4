// The saved-state file format.
#include "ring/core/saved_snapshot.h"

#include "ring/core/bytes.h"

namespace ringwatch {

namespace {

constexpr std::uint8_t kMagic[4] = {'R', 'W', 'S', 'S'};
constexpr std::uint8_t kDeliveriesMagic[4] = {'R', 'W', 'D', 'L'};
constexpr std::uint8_t kPromiseMagic[4] = {'R', 'W', 'P', 'T'};
constexpr std::uint8_t kVersion = 1;
// Bounds a corrupt file cannot exceed (a node never holds more).
constexpr std::uint32_t kMaxItems = 1 << 20;
constexpr std::size_t kMaxEncodedToken = 64 + kMaxPayloadBytes;

void put_token(ByteWriter& w, const Token& t) {
    const Bytes b = encode_message(t);
    w.u16(static_cast<std::uint16_t>(b.size()));
    w.bytes(b);
}

bool get_token(ByteReader& r, Token& t) {
    const std::uint16_t n = r.u16();
    if (!r.ok() || n > kMaxEncodedToken) return false;
    const auto b = r.bytes(n);
    Message m;
    if (!r.ok() || decode_message(b, m) != MessageError::none || !std::holds_alternative<Token>(m)) return false;
    t = std::get<Token>(std::move(m));
    return true;
}

void put_tokens(ByteWriter& w, const std::vector<Token>& ts) {
    w.u32(static_cast<std::uint32_t>(ts.size()));
    for (const auto& t : ts) put_token(w, t);
}

// The fewest bytes an item can take: a count the bytes left cannot hold is refused before
// anything is allocated for it (a 21-byte file claiming a million tokens costs nothing).
constexpr std::size_t kMinEncodedToken = 2 + 16;
constexpr std::size_t kMinEncodedMessage = 2 + 8 + 8 + 4 + 8 + 2;

bool get_tokens(ByteReader& r, std::vector<Token>& ts) {
    const std::uint32_t n = r.u32();
    if (!r.ok() || n > kMaxItems || n > r.remaining() / kMinEncodedToken) return false;
    ts.resize(n);
    for (auto& t : ts)
        if (!get_token(r, t)) return false;
    return true;
}

void put_messages(ByteWriter& w, const std::vector<OutgoingMessage>& ms) {
    w.u32(static_cast<std::uint32_t>(ms.size()));
    for (const auto& m : ms) {
        w.u16(m.to.value);
        w.u64(m.msg_id);
        w.u64(m.incarnation.value);
        w.u32(m.attempts);
        w.u64(m.accepted);
        w.u16(static_cast<std::uint16_t>(m.payload.size()));
        w.bytes(m.payload);
    }
}

bool get_messages(ByteReader& r, std::vector<OutgoingMessage>& ms) {
    const std::uint32_t n = r.u32();
    if (!r.ok() || n > kMaxItems || n > r.remaining() / kMinEncodedMessage) return false;
    ms.resize(n);
    for (auto& m : ms) {
        m.to = NodeId{r.u16()};
        m.msg_id = r.u64();
        m.incarnation = Incarnation{r.u64()};
        m.attempts = r.u32();
        m.accepted = r.u64();
        const std::uint16_t len = r.u16();
        if (!r.ok() || len > kMaxPayloadBytes) return false;
        const auto b = r.bytes(len);
        m.payload.assign(b.begin(), b.end());
    }
    return r.ok();
}

void put_log(ByteWriter& w, const DeliveryLog& log) {
    w.u32(static_cast<std::uint32_t>(log.sources().size()));
    for (const auto& [src, incs] : log.sources()) {
        w.u16(src.value);
        w.u8(static_cast<std::uint8_t>(incs.size()));
        for (const auto& [inc, win] : incs) {
            w.u64(inc.value);
            w.u64(win.floor);
            w.u32(static_cast<std::uint32_t>(win.above.size()));
            for (std::uint64_t id : win.above) w.u64(id);
        }
    }
}

bool get_log(ByteReader& r, DeliveryLog& log) {
    const std::uint32_t sources = r.u32();
    if (!r.ok() || sources > kMaxItems) return false;
    for (std::uint32_t s = 0; s < sources; ++s) {
        const NodeId src{r.u16()};
        const std::uint8_t incs = r.u8();
        if (!r.ok() || incs > DeliveryLog::kIncarnationsPerSource) return false;
        // Sources come in ascending order, each once, as put_log writes them: a source listed twice
        // would pile more processes on it than a log keeps (and than the file could say again).
        if (!log.sources().empty() && !(log.sources().rbegin()->first < src)) return false;
        for (std::uint8_t i = 0; i < incs; ++i) {
            const Incarnation inc{r.u64()};
            DeliveryLog::Window w;
            w.floor = r.u64();
            const std::uint32_t n = r.u32();
            if (!r.ok() || n > DeliveryLog::kWindow) return false;
            for (std::uint32_t k = 0; k < n; ++k) w.above.insert(r.u64());
            if (!r.ok()) return false;
            log.put(src, inc, std::move(w));
        }
    }
    return true;
}

void put_key(ByteWriter& w, const MessageKey& k) {
    w.u16(std::get<0>(k).value);
    w.u64(std::get<1>(k).value);
    w.u64(std::get<2>(k));
}

using Magic = std::uint8_t[4];

// (Bytes one at a time, not bytes(): GCC 12 at -O3 falsely warns of an overflow inserting into the empty vector.)
void put_header(ByteWriter& w, const Magic& magic) {
    for (std::uint8_t b : magic) w.u8(b);
    w.u8(kVersion);
}

bool has_header(ByteReader& r, const Magic& magic) {
    const auto m = r.bytes(4);
    return r.ok() && std::equal(m.begin(), m.end(), magic) && r.u8() == kVersion && r.ok();
}

MessageKey get_key(ByteReader& r) {
    const NodeId src{r.u16()};
    const Incarnation inc{r.u64()};
    return {src, inc, r.u64()};
}

}  // namespace

Bytes encode_saved(const SavedSnapshot& s) {
    Bytes out;
    ByteWriter w(out);
    put_header(w, kMagic);
    w.u64(s.id.value);
    const TokenSavedState& t = s.token;
    w.u32(t.epoch.value);
    put_tokens(w, t.held);
    put_messages(w, t.queue);
    put_messages(w, t.in_transit);
    w.u64(t.next_msg_id);
    w.u64(t.delivered_count);
    put_log(w, t.delivered);
    w.u64(t.incarnation.value);
    w.u64(t.accepted);
    w.u64(t.deliveries);
    put_tokens(w, s.channel);
    return out;
}

std::optional<SavedSnapshot> decode_saved(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    if (!has_header(r, kMagic)) return std::nullopt;
    SavedSnapshot s;
    s.id = SnapshotId{r.u64()};
    TokenSavedState& t = s.token;
    t.epoch = Epoch{r.u32()};
    if (!get_tokens(r, t.held) || !get_messages(r, t.queue) || !get_messages(r, t.in_transit)) return std::nullopt;
    t.next_msg_id = r.u64();
    t.delivered_count = r.u64();
    if (!r.ok() || !get_log(r, t.delivered)) return std::nullopt;
    t.incarnation = Incarnation{r.u64()};
    t.accepted = r.u64();
    t.deliveries = r.u64();
    if (!r.ok() || !get_tokens(r, s.channel) || r.remaining() != 0) return std::nullopt;
    return s;
}

Bytes encode_deliveries(const DeliveryRecord& d) {
    Bytes out;
    ByteWriter w(out);
    put_header(w, kDeliveriesMagic);
    w.u64(d.seq);
    put_log(w, d.delivered);
    w.u32(static_cast<std::uint32_t>(d.journal.size()));
    for (const auto& e : d.journal) {
        w.u64(e.seq);
        put_key(w, e.message);
    }
    w.u32(static_cast<std::uint32_t>(d.undone.size()));
    for (const auto& k : d.undone) put_key(w, k);
    return out;
}

std::optional<DeliveryRecord> decode_deliveries(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    if (!has_header(r, kDeliveriesMagic)) return std::nullopt;
    DeliveryRecord d;
    d.seq = r.u64();
    if (!r.ok() || !get_log(r, d.delivered)) return std::nullopt;
    // Each entry takes 26 bytes: a count the file cannot hold is refused before anything is reserved.
    const std::uint32_t entries = r.u32();
    if (!r.ok() || entries > kMaxItems || entries > r.remaining() / 26) return std::nullopt;
    d.journal.resize(entries);
    for (auto& e : d.journal) {
        e.seq = r.u64();
        e.message = get_key(r);
    }
    const std::uint32_t undone = r.u32();
    if (!r.ok() || undone > kMaxItems || undone > r.remaining() / 18) return std::nullopt;
    d.undone.resize(undone);
    for (auto& k : d.undone) k = get_key(r);
    if (!r.ok() || r.remaining() != 0) return std::nullopt;
    return d;
}

Bytes encode_promise(const PromisedTerm& p) {
    Bytes out;
    ByteWriter w(out);
    put_header(w, kPromiseMagic);
    w.u32(p.term.value);
    w.u16(p.monitor.value);
    return out;
}

std::optional<PromisedTerm> decode_promise(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    if (!has_header(r, kPromiseMagic)) return std::nullopt;
    PromisedTerm p;
    p.term = Term{r.u32()};
    p.monitor = NodeId{r.u16()};
    if (!r.ok() || r.remaining() != 0) return std::nullopt;
    return p;
}

}  // namespace ringwatch
