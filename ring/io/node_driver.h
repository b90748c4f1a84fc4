// Runs one ring member: its NodeProcess core (links, backlog, node, tools) on a DatagramPort (the
// UDP socket, peers' addresses, the impairment shim), a timer for the process's next deadline, the
// state directory, key files for a rekey, and log lines (and with --json, events) for what a
// person or a program wants to see. No protocol logic: every decision is the process core's.
#pragma once

#include "ring/config/key_rotation.h"
#include "ring/config/ring_config.h"
#include "ring/core/node_process.h"
#include "ring/io/datagram_port.h"
#include "ring/io/deadline_timer.h"
#include "ring/io/log.h"
#include "ring/io/state_store.h"
#include "ring/io/state_writer.h"

namespace ringwatch::io {

class NodeDriver {
public:
    // Throws std::system_error (socket), ConfigError (id not in the ring) or std::runtime_error
    // (the state directory cannot be made or read).
    // json_events: every event also as a JSON line on stdout (node_events.h).
    NodeDriver(uv_loop_t* loop, const RingConfig& config, NodeId self, LinkConfig link = {}, bool json_events = false);
    NodeDriver(const NodeDriver&) = delete;
    NodeDriver& operator=(const NodeDriver&) = delete;

    const NodeProcess& process() const { return process_; }
    const Node& node() const { return process_.core(); }
    const UdpSocket& socket() const { return port_.socket(); }
    std::string settings() const;
    // What `ring status` is told: the process's figures and this runtime's (socket, disk).
    StatusReply status(std::uint64_t command_id) const;

private:
    void on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from, std::optional<Instant> arrived = std::nullopt);
    void pass();  // one step of the process, and what it asks for done
    void act(NodeReady& ready);
    void log_token_event(const TokenEvent& e);
    void log_link_event(NodeId peer, const LinkEvent& e);
    // An event as a JSON line, when asked for (--json).
    void emit(const std::string& json) const {
        if (json_events_) write_event_line(json);
    }

    Logger log_;
    bool json_events_;
    NodeId self_;
    KeyRotation rekey_;
    std::optional<StateStore> store_;  // with state_dir set
    StateStore::Loaded loaded_;
    std::optional<StateWriter> writer_;  // into store_
    NodeProcess process_;
    DatagramPort port_;
    DeadlineTimer timer_;  // the process's next deadline
};

}  // namespace ringwatch::io
