// Runs one ring member: the Node core on an EndpointDriver (its UDP socket and links to the
// predecessor, the successor, the monitor and tools), a timer for the token's hold, and log lines
// for what a person wants to see. No protocol logic: everything is decided by the cores.
#pragma once

#include "ring/config/key_rotation.h"
#include "ring/config/ring_config.h"
#include "ring/core/node.h"
#include "ring/core/rotation_times.h"
#include "ring/io/deadline_timer.h"
#include "ring/io/endpoint_driver.h"
#include "ring/io/log.h"
#include "ring/io/state_store.h"

namespace ringwatch::io {

class NodeDriver {
public:
    // Throws std::system_error (socket), ConfigError (id not in the ring) or std::runtime_error
    // (the state directory cannot be made or read).
    // json_events: every event also as a JSON line on stdout (node_events.h).
    NodeDriver(uv_loop_t* loop, const RingConfig& config, NodeId self, LinkConfig link = {}, bool json_events = false);
    NodeDriver(const NodeDriver&) = delete;
    NodeDriver& operator=(const NodeDriver&) = delete;

    const Node& node() const { return node_; }
    const EndpointDriver& link() const { return link_; }
    std::string settings() const;
    // What `ring status` is told: the node's figures by name.
    StatusReply status(std::uint64_t command_id) const;

private:
    void pump();

    // An event as a JSON line, when asked for (--json).
    void emit(const std::string& json) const {
        if (json_events_) write_event_line(json);
    }

    Logger log_;
    bool json_events_;
    NodeId self_;
    NodeId pred_, succ_;
    EndpointDriver link_;
    KeyRotation rekey_;
    std::optional<StateStore> store_;  // with state_dir set
    StateStore::Loaded loaded_;
    std::optional<StateWriter> writer_;  // into store_
    Node node_;
    RotationTimes rotations_;  // the token's rotation times here (`ring status`)
    NodeOutput out_;
    DeadlineTimer timer_;  // the token's hold
};

}  // namespace ringwatch::io
