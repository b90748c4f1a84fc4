// The two ios that run a message description (message_fields.h): MessageWriter encodes, and
// MessageReader decodes and validates. Field by field they mirror each other; nothing else.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include "ring/core/bytes.h"
#include "ring/core/check.h"
#include "ring/core/message_fields.h"
#include "ring/core/messages.h"

namespace ringwatch {

namespace message_io_detail {
template <typename C>
std::span<const std::uint8_t> as_bytes(const C& c) {
    return {reinterpret_cast<const std::uint8_t*>(c.data()), c.size()};
}
}  // namespace message_io_detail

// Writes exactly what it is given: a malformed message (a free token with a payload, a payload over
// its bound) encodes as it is, for the decoder to reject. Over-long lists are cut, or asserted.
class MessageWriter {
public:
    explicit MessageWriter(Bytes& out) : w_(out) {}

    // The field's type must be exactly the wire type (a wider field would be cut silently).
    void u8(const std::same_as<std::uint8_t> auto& v) { w_.u8(v); }
    void u16(const std::same_as<std::uint16_t> auto& v) { w_.u16(v); }
    void u32(const std::same_as<std::uint32_t> auto& v) { w_.u32(v); }
    void u64(const std::same_as<std::uint64_t> auto& v) { w_.u64(v); }
    void i64(const std::same_as<std::int64_t> auto& v) { w_.u64(static_cast<std::uint64_t>(v)); }
    template <typename Tag, typename Rep>
    void id(const StrongInt<Tag, Rep>& v) {
        put(v.value);
    }
    void flag(const std::same_as<bool> auto& b) { w_.u8(b ? 1 : 0); }
    template <typename E>
    void enumeration(const E& e, E, E) {
        static_assert(std::is_same_v<std::underlying_type_t<E>, std::uint8_t>);
        w_.u8(static_cast<std::uint8_t>(e));
    }
    template <typename C>
    void bytes(const C& b, std::size_t) {
        w_.u16(static_cast<std::uint16_t>(b.size()));
        w_.bytes(message_io_detail::as_bytes(b));
    }
    void name(const std::string& s, std::size_t bound) {
        RW_ASSERT(!s.empty() && s.size() <= bound);
        w_.u8(static_cast<std::uint8_t>(s.size()));
        w_.bytes(message_io_detail::as_bytes(s));
    }
    template <typename V, typename F>
    void list(const V& v, std::size_t bound, Excess excess, F&& each) {
        RW_ASSERT(excess == Excess::cut || v.size() <= bound);
        items(v, std::min(v.size(), bound), each);
    }
    template <typename V, typename F>
    void counted_list(const V& v, const std::uint32_t& count, std::size_t bound, F&& each) {
        w_.u32(count);
        items(v, std::min<std::size_t>({v.size(), count, bound}), each);
    }
    void require(bool) {}
    void checkpoint() {}

private:
    template <std::unsigned_integral U>
    void put(U v) {
        if constexpr (sizeof(U) == 1)
            w_.u8(v);
        else if constexpr (sizeof(U) == 2)
            w_.u16(v);
        else if constexpr (sizeof(U) == 4)
            w_.u32(v);
        else
            w_.u64(v);
    }
    template <typename V, typename F>
    void items(const V& v, std::size_t n, F& each) {
        w_.u8(static_cast<std::uint8_t>(n));
        for (std::size_t i = 0; i < n; ++i) each(v[i]);
    }
    ByteWriter w_;
};

// Reads fields in order; the first error stands. A bad value waits for the next checkpoint, where a
// short read of anything before it wins (the order of checks the wire format has always had).
class MessageReader {
public:
    explicit MessageReader(std::span<const std::uint8_t> in) : r_(in) {}

    void u8(std::uint8_t& v) { v = r_.u8(); }
    void u16(std::uint16_t& v) { v = r_.u16(); }
    void u32(std::uint32_t& v) { v = r_.u32(); }
    void u64(std::uint64_t& v) { v = r_.u64(); }
    void i64(std::int64_t& v) { v = static_cast<std::int64_t>(r_.u64()); }
    template <typename Tag, typename Rep>
    void id(StrongInt<Tag, Rep>& v) {
        v.value = get<Rep>();
    }
    void flag(bool& b) {
        const std::uint8_t v = r_.u8();
        b = v == 1;
        require(v <= 1);
    }
    template <typename E>
    void enumeration(E& e, E first, E last) {
        static_assert(std::is_same_v<std::underlying_type_t<E>, std::uint8_t>);
        const std::uint8_t v = r_.u8();
        if (v >= static_cast<std::uint8_t>(first) && v <= static_cast<std::uint8_t>(last))
            e = static_cast<E>(v);
        else
            require(false);
    }
    template <typename C>
    void bytes(C& b, std::size_t bound) {
        const std::uint16_t n = r_.u16();
        checkpoint();
        if (n > bound) fail(MessageError::too_long);
        if (error_ != MessageError::none) return;
        const auto in = r_.bytes(n);
        b.assign(in.begin(), in.end());
    }
    void name(std::string& s, std::size_t bound) {
        const std::uint8_t n = r_.u8();
        checkpoint();
        if (n == 0 || n > bound) fail(MessageError::bad_value);
        if (error_ != MessageError::none) return;
        const auto in = r_.bytes(n);
        s.assign(in.begin(), in.end());
    }
    template <typename V, typename F>
    void list(V& v, std::size_t bound, Excess, F&& each) {
        const std::uint8_t n = r_.u8();
        checkpoint();
        if (n > bound) fail(MessageError::too_long);
        items(v, n, each);
    }
    template <typename V, typename F>
    void counted_list(V& v, std::uint32_t& count, std::size_t bound, F&& each) {
        count = r_.u32();
        const std::uint8_t n = r_.u8();
        checkpoint();
        if (n > bound) fail(MessageError::too_long);
        // No fewer items than fit: a list is cut only at its bound.
        if (n != std::min<std::uint64_t>(count, bound)) fail(MessageError::bad_value);
        items(v, n, each);
    }
    void require(bool ok) {
        if (!ok && pending_ == MessageError::none) pending_ = MessageError::bad_value;
    }
    void checkpoint() {
        if (!r_.ok()) fail(MessageError::truncated);
        fail(pending_);
    }

    MessageError error() const { return error_; }
    std::size_t remaining() const { return r_.remaining(); }

private:
    template <std::unsigned_integral U>
    U get() {
        if constexpr (sizeof(U) == 1)
            return r_.u8();
        else if constexpr (sizeof(U) == 2)
            return r_.u16();
        else if constexpr (sizeof(U) == 4)
            return r_.u32();
        else
            return r_.u64();
    }
    template <typename V, typename F>
    void items(V& v, std::size_t n, F& each) {
        if (error_ != MessageError::none) return;
        v.resize(n);
        for (auto& x : v) each(x);
    }
    // The first error stands.
    void fail(MessageError e) {
        if (error_ == MessageError::none) error_ = e;
    }
    ByteReader r_;
    MessageError pending_ = MessageError::none;
    MessageError error_ = MessageError::none;
};

}  // namespace ringwatch
