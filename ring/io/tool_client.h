// A one-shot tool's link to one node (ring inject, ring send, the demo's script): sends a command
// from a random id in the tool range and reports the node's acknowledgement, or its absence.
#pragma once

#include <functional>
#include <optional>

#include "ring/core/messages.h"
#include "ring/io/endpoint_driver.h"

namespace ringwatch::io {

class ToolClient {
public:
    // Called once: nullopt when no acknowledgement came in time, else the node's ok flag.
    using Done = std::function<void(std::optional<bool>)>;

    // `self`: the tool id this client speaks as (random in the tool range unless given).
    ToolClient(uv_loop_t* loop, NodeId node, const sockaddr_storage& node_address, LinkConfig link = {}, std::optional<NodeId> self = std::nullopt);
    // One command at a time. `m` is a command (InjectCommand, SendCommand, ImpairCommand,
    // RecoverCommand); its command_id is set here.
    void command(Message m, Duration timeout, Done done);
    // A question with an answer other than an acknowledgement (RingQuery: RingState). Called once:
    // nullopt when no answer came in time.
    void query(Message m, Duration timeout, std::function<void(std::optional<Message>)> answered);
    // The node answered this tool's hello (so it holds our key), whether or not it gave us a session.
    bool heard() const {
        const Link* l = link_.endpoint().link(node_);
        return l && l->last_heard().has_value();
    }
    // The node has not been heard for the link's silent_after (after it was heard once).
    bool silent() const {
        const Link* l = link_.endpoint().link(node_);
        return l && l->silent();
    }
    void unref() {
        link_.unref();
        uv_unref(reinterpret_cast<uv_handle_t*>(timer_.get()));
        uv_unref(reinterpret_cast<uv_handle_t*>(no_wait_.get()));
        uv_unref(reinterpret_cast<uv_handle_t*>(last_look_.get()));
    }

private:
    void finish(std::optional<bool> result);  // a command's end
    void answer(std::optional<Message> m);    // a query's end
    void arm_deadline(Duration timeout);
    // The deadline passed. A process starved of CPU runs its overdue timer before it reads what
    // arrived meanwhile: so it reads first (one more pass of the loop that does not wait), and
    // gives up only if the answer is still missing.
    void deadline_passed();
    void give_up();

    NodeId node_;
    std::uint64_t next_command_ = 1;
    std::uint64_t waiting_for_ = 0;
    Done done_;
    std::function<void(std::optional<Message>)> answered_;
    EndpointDriver link_;
    UvHandle<uv_timer_t> timer_;
    UvHandle<uv_idle_t> no_wait_;     // while active, the loop's next pass polls without waiting
    UvHandle<uv_check_t> last_look_;  // runs after that pass has read the socket
};

// Runs `m` against one node on a private loop until acknowledged or timed out.
std::optional<bool> run_command(NodeId node, const sockaddr_storage& address, Message m, Duration timeout, LinkConfig link = {});
// Asks one node `m` on a private loop; its answer, or nothing in time.
std::optional<Message> run_query(NodeId node, const sockaddr_storage& address, Message m, Duration timeout, LinkConfig link = {});

}  // namespace ringwatch::io
