// One process's end of all its links: demultiplexes datagrams by sender to per-peer Links, counts
// what cannot be decoded or is not for us. Pure, like Link; the caller's contract is Link's.
//
// A monitor has a link per node, so nothing here costs a pass over every link per input: flush()
// flushes the links given an input since the last flush and those whose deadline has come (an index
// of deadlines, ordered by time), take_output() reads only the links that may have produced
// something, and next_deadline() is the index's first entry. A link changed from outside (through
// the Link& of add_peer() or the Link* of link()) counts as given an input, until the next flush.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "ring/core/link.h"
#include "ring/core/wire.h"

namespace ringwatch {

struct EndpointStats {
    std::uint64_t datagrams_received = 0;
    std::uint64_t malformed = 0;                                         // sum of decode_errors
    std::array<std::uint64_t, wire::kDecodeErrorCount> decode_errors{};  // indexed by wire::DecodeError
    std::uint64_t misaddressed = 0;                                      // dst is not this node
    std::uint64_t unknown_peer = 0;                                      // src is not one of our links
    std::uint64_t tool_links_refused = 0;                                // a tool beyond the bound
    // A tool's frame for a session this process does not have (a recording, or a tool let go).
    std::uint64_t no_tool_session = 0;
    // Not drops: tool hellos answered with a challenge (nothing kept for them).
    std::uint64_t tool_challenges = 0;
};

struct Addressed {
    NodeId peer;
    Bytes bytes;
};
struct PeerEvent {
    NodeId peer;
    LinkEvent event;
};

struct EndpointOutput {
    std::vector<Addressed> datagrams;
    std::vector<Addressed> delivered;
    std::vector<PeerEvent> events;
    void clear() {
        datagrams.clear();
        delivered.clear();
        events.clear();
    }
};

class Endpoint {
public:
    Endpoint(LinkConfig config, NodeId self, Incarnation incarnation);

    // Idempotent. Links are created up front; datagrams from unknown senders are counted and dropped,
    // except a tool's when accept_tools() allows a bounded number of tool links (a tool's link is
    // removed once it falls silent).
    //
    // A tool earns its slot by answering a challenge: its hello gets, and costs, nothing but a
    // stateless reply (take_reply()) naming a challenge incarnation bound to the tool's id and
    // incarnation and to this process's incarnation. Only a frame addressed to that challenge (under
    // the ring's key: only a key holder can make one) opens the link, and only for a tool
    // incarnation above every one this process has admitted under that tool id. So a recording,
    // replayed now or after a restart, can neither open a slot nor hold one: its hellos win only
    // replies, its frames name a challenge of the past or an incarnation already admitted.
    // Tool ids are drawn at random, so a tool may draw the id of one whose link is still here (one
    // that ended less than silent_after ago, or even one still running): a later incarnation under
    // that id is challenged and admitted as above, its link replacing the earlier one's, whose
    // frames are dropped from then on as a replaced process's (a session_reset event for that id
    // tells the layers above). A frame that met its challenge but found no free slot is remembered
    // (per tool id, its incarnation and counter): a recording of it opens nothing later either.
    Link& add_peer(NodeId peer, Instant now);
    void accept_tools(std::size_t max_tool_links) { max_tool_links_ = max_tool_links; }
    // Key rotation: every link sends under `send` from now on; datagrams are accepted under it and,
    // during a rotation, under `also_accept` (the key being replaced, or the one coming).
    void set_keys(std::optional<AuthKey> send, std::optional<AuthKey> also_accept);
    const std::optional<AuthKey>& send_key() const { return config_.key; }
    const std::optional<AuthKey>& also_accepted_key() const { return also_accept_; }
    bool has_peer(NodeId peer) const { return links_.contains(peer); }
    // Some link awaits an answer that may come as a pure acknowledgement (Link::awaits_answer).
    bool awaits_answer() const;

    // Returns nullopt for an unknown peer.
    std::optional<SendStatus> send(NodeId peer, std::span<const std::uint8_t> message);
    // Returns the sender when a link took the datagram.
    // `arrived`: when the datagram reached this host, if it waited to be read (Link::on_frame).
    std::optional<NodeId> on_datagram(Instant now, std::span<const std::uint8_t> datagram, std::optional<Instant> arrived = std::nullopt);
    // The reply to the datagram just given to on_datagram, for the address it came from (a tool's
    // challenge); empty if none. Taking it clears it.
    std::optional<Bytes> take_reply() { return std::exchange(reply_, std::nullopt); }
    // The tool admitted by the datagram just given to on_datagram, if any: from now on its link
    // speaks to the address that datagram came from (and no other frame moves it: a recording
    // sent from elsewhere cannot draw a tool's answers away). Taking it clears it.
    std::optional<NodeId> take_admitted() { return std::exchange(admitted_, std::nullopt); }
    // The challenge incarnation a tool (id, incarnation) must address to open a link here.
    Incarnation tool_challenge(NodeId tool, Incarnation tool_incarnation) const;
    void flush(Instant now);
    // Appends everything produced since the last call to `out` (which the caller clears).
    void take_output(EndpointOutput& out);
    std::optional<Instant> next_deadline() const;

    NodeId self() const { return self_; }
    Incarnation incarnation() const { return incarnation_; }
    const EndpointStats& stats() const { return stats_; }
    const Link* link(NodeId peer) const;
    Link* link(NodeId peer);
    // Counters summed over every link, including tool links since let go.
    LinkStats total_link_stats() const;
    template <typename F>
    void for_each_link(F&& f) const {
        for (const auto& [id, p] : links_) f(id, *p.link);
    }

private:
    // Owns its link; a copy of the endpoint copies every link (the model checker copies whole
    // processes: tests/sim/explorer.h).
    struct LinkPtr : std::unique_ptr<Link> {
        LinkPtr(std::unique_ptr<Link> p) : std::unique_ptr<Link>(std::move(p)) {}
        LinkPtr(LinkPtr&&) = default;
        LinkPtr& operator=(LinkPtr&&) = default;
        LinkPtr(const LinkPtr& o) : std::unique_ptr<Link>(o ? std::make_unique<Link>(*o) : nullptr) {}
        LinkPtr& operator=(const LinkPtr& o) { return *this = LinkPtr(o); }
        ~LinkPtr() = default;
    };
    struct Peer {
        LinkPtr link;
        std::optional<Instant> indexed;  // its entry in due_ (none: not in the index)
        bool stale = false;              // given an input since its last flush: listed in stale_, not in due_
        bool output = false;             // may hold output not taken yet: listed in with_output_
    };
    // The link was given an input: it is flushed at the next flush, its deadline is found afresh.
    void touch(NodeId id, Peer& p);
    void reindex(NodeId id, Peer& p);
    // A frame of a tool with no link here, or of a later process under a tool id with one: answers
    // a hello, or opens a link for a met challenge (replacing the earlier process's).
    Link* admit_tool(Instant now, NodeId tool);
    // Forgets a tool's link (its counters kept in departed_), with whatever output it still held.
    void drop_tool_link(NodeId tool);

    LinkConfig config_;
    std::optional<AuthKey> also_accept_;
    NodeId self_;
    Incarnation incarnation_;
    std::map<NodeId, Peer> links_;
    std::set<std::pair<Instant, NodeId>> due_;  // the next deadline of every link that is not stale
    std::vector<NodeId> stale_;
    std::vector<NodeId> with_output_;
    std::vector<NodeId> flushing_;  // reused by flush()
    EndpointStats stats_;
    std::size_t max_tool_links_ = 0;
    // Per tool id, the highest tool incarnation given a link by this process (tool ids are few).
    std::map<NodeId, Incarnation> tools_admitted_;
    // Per tool id, the newest incarnation refused for want of a slot and the highest counter of its
    // frames refused: only that incarnation's later frames (a live tool's next try) may still get in.
    struct Refused {
        Incarnation incarnation;
        std::uint64_t counter = 0;
    };
    std::map<NodeId, Refused> tools_refused_;
    std::vector<PeerEvent> events_;  // the endpoint's own (a tool's session taken over), before the links'
    std::optional<Bytes> reply_;
    std::optional<NodeId> admitted_;
    LinkStats departed_;  // of tool links let go
    wire::Frame frame_;   // reused to avoid an allocation per datagram
    LinkOutput scratch_;
};

}  // namespace ringwatch
