// A tool's link to a node's Endpoint carried through its hello and the node's challenge by hand, so a
// case decides which of the tool's frames reach the node, when, and how often.
#pragma once

#include <catch2/catch.hpp>

#include "ring/core/endpoint.h"
#include "ring/core/wire.h"

namespace ringwatch::testing {

// The tool's next frame: exactly one datagram.
inline Bytes next_frame(Link& tool, Instant now) {
    tool.flush(now);
    auto d = tool.take_output().datagrams;
    REQUIRE(d.size() == 1);
    return d.front();
}

// The tool's hello wins a challenge (a stateless reply, nothing kept) that the tool takes: its next
// frame meets it.
inline void hello_and_challenge(Endpoint& node, Link& tool, Instant now) {
    REQUIRE_FALSE(node.on_datagram(now, next_frame(tool, now)));
    const auto challenge = node.take_reply();
    REQUIRE(challenge);
    REQUIRE_FALSE(node.take_admitted());
    wire::Frame f;
    REQUIRE(wire::decode_frame(*challenge, f) == wire::DecodeError::none);
    tool.on_frame(now, f);
}

}  // namespace ringwatch::testing
