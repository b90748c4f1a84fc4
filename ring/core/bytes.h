// Bounds-checked big-endian readers and writers for the wire codecs. A reader never reads past its
// buffer: after the first short read it stays failed and every later read returns 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ring/core/types.h"

namespace ringwatch {

class ByteWriter {
public:
    explicit ByteWriter(Bytes& out) : out_(out) {}

    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    std::size_t size() const { return out_.size(); }

private:
    void put(std::uint64_t v, int n) {
        for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    Bytes& out_;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}

    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    // A view of the next n bytes (empty and failed if fewer remain).
    std::span<const std::uint8_t> bytes(std::size_t n) {
        if (!ok_ || remaining() < n) {
            ok_ = false;
            return {};
        }
        auto s = in_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

    bool ok() const { return ok_; }
    std::size_t remaining() const { return in_.size() - pos_; }
    std::size_t position() const { return pos_; }

private:
    std::uint64_t get(std::size_t n) {
        if (!ok_ || remaining() < n) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | in_[pos_ + i];
        pos_ += n;
        return v;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace ringwatch
