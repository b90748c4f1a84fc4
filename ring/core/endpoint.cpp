// Routes datagrams to the per-peer links of one process and gathers their output.
#include "ring/core/endpoint.h"

#include <algorithm>

namespace ringwatch {

namespace {
void add(LinkStats& t, const LinkStats& s) {
    t.messages_sent += s.messages_sent;
    t.messages_delivered += s.messages_delivered;
    t.datagrams_sent += s.datagrams_sent;
    t.datagrams_received += s.datagrams_received;
    t.data_frames_sent += s.data_frames_sent;
    t.ack_frames_sent += s.ack_frames_sent;
    t.retransmits += s.retransmits;
    t.fast_retransmits += s.fast_retransmits;
    t.timeouts += s.timeouts;
    t.duplicates_dropped += s.duplicates_dropped;
    t.out_of_window_dropped += s.out_of_window_dropped;
    t.stale_incarnation_dropped += s.stale_incarnation_dropped;
    t.replayed_dropped += s.replayed_dropped;
    t.hellos_answered += s.hellos_answered;
    t.unexpected_data_dropped += s.unexpected_data_dropped;
    t.invalid_acks += s.invalid_acks;
    t.window_full += s.window_full;
    t.session_resets += s.session_resets;
    t.messages_dropped_by_reset += s.messages_dropped_by_reset;
}
}  // namespace

Endpoint::Endpoint(LinkConfig config, NodeId self, Incarnation incarnation)
    : config_(config), also_accept_(config.also_accept), self_(self), incarnation_(incarnation) {
    config_.also_accept.reset();  // kept in also_accept_ alone (set_keys changes it)
}

Link& Endpoint::add_peer(NodeId peer, Instant now) {
    auto it = links_.find(peer);
    if (it == links_.end())
        it = links_.emplace(peer, Peer{std::make_unique<Link>(config_, self_, incarnation_, peer, now), std::nullopt, false, false}).first;
    touch(peer, it->second);  // new, or the caller may change it through the reference
    return *it->second.link;
}

void Endpoint::touch(NodeId id, Peer& p) {
    if (!p.stale) {
        p.stale = true;
        stale_.push_back(id);
        if (p.indexed) due_.erase({*p.indexed, id});
        p.indexed.reset();
    }
    if (!p.output) {
        p.output = true;
        with_output_.push_back(id);
    }
}

void Endpoint::reindex(NodeId id, Peer& p) {
    const std::optional<Instant> at = p.link->next_deadline();
    if (at == p.indexed) return;
    if (p.indexed && at) {
        auto entry = due_.extract({*p.indexed, id});  // moved, not freed and allocated again
        entry.value().first = *at;
        due_.insert(std::move(entry));
    } else if (p.indexed) {
        due_.erase({*p.indexed, id});
    } else {
        due_.insert({*at, id});
    }
    p.indexed = at;
}

const Link* Endpoint::link(NodeId peer) const {
    auto it = links_.find(peer);
    return it == links_.end() ? nullptr : it->second.link.get();
}

Link* Endpoint::link(NodeId peer) {
    auto it = links_.find(peer);
    if (it == links_.end()) return nullptr;
    touch(peer, it->second);  // the caller may change it
    return it->second.link.get();
}

void Endpoint::set_keys(std::optional<AuthKey> send, std::optional<AuthKey> also_accept) {
    config_.key = send;
    also_accept_ = send ? also_accept : std::nullopt;
    for (auto& [id, p] : links_) p.link->set_key(send);  // no deadline depends on the key
}

std::optional<SendStatus> Endpoint::send(NodeId peer, std::span<const std::uint8_t> message) {
    Link* l = link(peer);
    if (!l) return std::nullopt;
    return l->send(message);
}

std::optional<NodeId> Endpoint::on_datagram(Instant now, std::span<const std::uint8_t> datagram, std::optional<Instant> arrived) {
    ++stats_.datagrams_received;
    wire::DecodeError err = wire::decode_frame(datagram, frame_, config_.key ? &*config_.key : nullptr);
    if (err == wire::DecodeError::bad_mac && also_accept_) err = wire::decode_frame(datagram, frame_, &*also_accept_);
    if (err != wire::DecodeError::none) {
        ++stats_.malformed;
        ++stats_.decode_errors[static_cast<std::size_t>(err)];
        return std::nullopt;
    }
    if (frame_.header.dst != self_) {
        ++stats_.misaddressed;
        return std::nullopt;
    }
    const NodeId src = frame_.header.src;
    Link* l = link(src);  // marks it given an input
    const bool later_tool = l && is_tool_id(src) && frame_.header.src_incarnation > l->peer_incarnation();
    if ((!l || later_tool) && is_tool_id(src) && max_tool_links_ > 0) {
        l = admit_tool(now, src);
        if (!l) return std::nullopt;
    }
    if (!l) {
        ++stats_.unknown_peer;
        return std::nullopt;
    }
    l->on_frame(now, frame_, arrived);
    return src;
}

Incarnation Endpoint::tool_challenge(NodeId tool, Incarnation tool_incarnation) const {
    // Our incarnation (a start time in microseconds) plus up to ~1 s, mixed from the tool's id and
    // incarnation (splitmix64's finalizer). Never our own incarnation, and never another process's
    // challenge for the same tool: a restarted process has another incarnation to add to.
    std::uint64_t x = tool_incarnation.value ^ (std::uint64_t{tool.value} << 48) ^ 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return Incarnation{incarnation_.value + 1 + (x & 0xFFFFF)};
}

Link* Endpoint::admit_tool(Instant now, NodeId tool) {
    const wire::FrameHeader& h = frame_.header;
    const Incarnation challenge = tool_challenge(tool, h.src_incarnation);
    if (h.dst_incarnation == kUnknownIncarnation && frame_.messages.empty() && h.src_incarnation != kUnknownIncarnation) {
        // A hello: answered as the link would answer it (who we are, to that process), kept nowhere.
        wire::FrameHeader a;
        a.flags = wire::kFlagWantAck;
        a.src = self_;
        a.dst = tool;
        a.src_incarnation = challenge;
        a.dst_incarnation = h.src_incarnation;
        a.counter = 1;  // the link opened for the challenge counts on from here
        a.tsval = timestamp(now);
        a.tsecr = h.tsval;
        reply_.emplace();
        wire::encode_frame(a, {}, *reply_, config_.key ? &*config_.key : nullptr);
        ++stats_.tool_challenges;
        return nullptr;
    }
    const auto admitted = tools_admitted_.find(tool);
    const auto refused = tools_refused_.find(tool);
    if (h.dst_incarnation != challenge || (admitted != tools_admitted_.end() && h.src_incarnation <= admitted->second) ||
        (refused != tools_refused_.end() && (h.src_incarnation < refused->second.incarnation ||
                                             (h.src_incarnation == refused->second.incarnation && h.counter <= refused->second.counter)))) {
        ++stats_.no_tool_session;  // a recording (of a session, or of a frame refused), data before a hello, or a tool let go
        return nullptr;
    }
    std::size_t tools = 0;
    for (auto t = links_.lower_bound(NodeId{kToolIdFirst}); t != links_.end() && is_tool_id(t->first); ++t) ++tools;
    const bool replacing = links_.contains(tool);  // an earlier process's slot, taken over
    if (!replacing && tools >= max_tool_links_) {
        ++stats_.tool_links_refused;  // one reason per dropped datagram: not unknown_peer too
        // It met its challenge: recorded, it must not open a slot once one is free (the tool's own
        // next frames count on above it and may).
        Refused& r = tools_refused_[tool];
        if (h.src_incarnation > r.incarnation) r = Refused{h.src_incarnation, 0};
        r.counter = std::max(r.counter, h.counter);
        return nullptr;
    }
    std::uint64_t refused_up_to = 0;
    if (refused != tools_refused_.end()) {
        refused_up_to = refused->second.counter;  // of this incarnation (an earlier one was refused above)
        tools_refused_.erase(refused);
    }
    // The earlier process under this id is gone or superseded: what its link still held (messages
    // not yet handed on or not yet acknowledged) goes with it; that process, if it still runs, gets
    // no answer. The layers above hear of it as that peer's session reset.
    if (replacing) {
        events_.push_back({tool, LinkEvent{LinkEventKind::session_reset, h.src_incarnation, links_.at(tool).link->in_flight()}});
        drop_tool_link(tool);
    }
    tools_admitted_[tool] = h.src_incarnation;
    admitted_ = tool;
    auto it = links_.emplace(tool, Peer{std::make_unique<Link>(config_, self_, challenge, tool, now), std::nullopt, false, false}).first;
    it->second.link->count_from(1);
    // Its hellos and its frames refused before: replays from now on.
    it->second.link->counted_before(h.src_incarnation, std::max(h.counter > 0 ? h.counter - 1 : 0, refused_up_to));
    touch(tool, it->second);
    return it->second.link.get();
}

void Endpoint::flush(Instant now) {
    // The links given an input, then those whose deadline has come; in peer order, as a pass over
    // every link would (a link neither given an input nor due has nothing to do).
    flushing_.swap(stale_);
    for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it) flushing_.push_back(it->second);
    std::sort(flushing_.begin(), flushing_.end());
    for (NodeId id : flushing_) {
        Peer& p = links_.at(id);
        p.stale = false;
        p.link->flush(now);
        reindex(id, p);
        if (!p.output) {
            p.output = true;
            with_output_.push_back(id);
        }
    }
    flushing_.clear();
}

void Endpoint::take_output(EndpointOutput& out) {
    out.events.insert(out.events.end(), events_.begin(), events_.end());
    events_.clear();
    std::vector<NodeId> gone;
    std::sort(with_output_.begin(), with_output_.end());  // in peer order, as ever
    for (NodeId id : with_output_) {
        Peer& p = links_.at(id);
        p.output = false;
        p.link->take_output(scratch_);
        for (auto& d : scratch_.datagrams) out.datagrams.push_back({id, std::move(d)});
        for (auto& m : scratch_.delivered) out.delivered.push_back({id, std::move(m)});
        for (auto& e : scratch_.events) {
            out.events.push_back({id, e});
            // A one-shot tool that has fallen silent is gone: free its slot.
            if (is_tool_id(id) && e.kind == LinkEventKind::peer_silent) gone.push_back(id);
        }
    }
    with_output_.clear();
    for (NodeId id : gone) drop_tool_link(id);
}

void Endpoint::drop_tool_link(NodeId tool) {
    Peer& p = links_.at(tool);
    add(departed_, p.link->stats());
    if (p.indexed) due_.erase({*p.indexed, tool});
    if (p.stale) std::erase(stale_, tool);
    if (p.output) std::erase(with_output_, tool);
    links_.erase(tool);
}

std::optional<Instant> Endpoint::next_deadline() const {
    std::optional<Instant> d;
    if (!due_.empty()) d = due_.begin()->first;
    for (NodeId id : stale_) {
        auto t = links_.at(id).link->next_deadline();
        if (t && (!d || *t < *d)) d = t;
    }
    return d;
}

bool Endpoint::awaits_answer() const {
    return std::any_of(links_.begin(), links_.end(), [](const auto& entry) { return entry.second.link->awaits_answer(); });
}

LinkStats Endpoint::total_link_stats() const {
    LinkStats t = departed_;
    for (const auto& [id, p] : links_) add(t, p.link->stats());
    return t;
}

}  // namespace ringwatch
