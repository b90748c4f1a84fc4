// The broken cores of the checkers' self-tests. Each is the real core with one deliberate bug.
#include "tests/sim/mutants.h"

#include <array>

namespace ringwatch::sim {

namespace {

// Participants: the ring's participant with one method broken (the node calls them statically).
class SkipsChannel : public DefaultParticipant {
public:
    using DefaultParticipant::DefaultParticipant;
    void on_message(const NodeId&, const Token&) {}
};

class ClosesLate : public DefaultParticipant {
public:
    using DefaultParticipant::DefaultParticipant;
    void on_marker(SnapshotId id, const NodeId& from, const RecordedState& state) {
        if (!recording(id)) return DefaultParticipant::on_marker(id, from, state);
        late_.push_back({id, from, state});  // closes the channel only after the next message
    }
    void on_message(const NodeId& from, const Token& m) {
        DefaultParticipant::on_message(from, m);
        for (auto& l : late_) DefaultParticipant::on_marker(l.id, l.from, l.state);
        late_.clear();
    }

private:
    struct Late {
        SnapshotId id;
        NodeId from;
        RecordedState state;
    };
    std::vector<Late> late_;
};

class StaleState : public DefaultParticipant {
public:
    using DefaultParticipant::DefaultParticipant;
    // Only a call that begins a recording carries the state (the node copies it for those alone).
    bool start(SnapshotId id, const RecordedState& state) { return DefaultParticipant::start(id, stale(id, state)); }
    void on_marker(SnapshotId id, const NodeId& from, const RecordedState& state) { DefaultParticipant::on_marker(id, from, stale(id, state)); }

private:
    RecordedState stale(SnapshotId id, const RecordedState& state) {
        if (recording(id) || finished(id)) return state;
        return std::exchange(previous_, state);
    }
    RecordedState previous_;
};

using RingNode = NodeCoreOf<DefaultParticipant>;

// Confirms any term a monitor asks again about (a claim of round > 0), older than its promise too:
// a deposed leader's confirmation round succeeds, and it may grant leases.
class ConfirmsOldTerms : public RingNode {
public:
    using RingNode::RingNode;
    void on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes) override {
        Message m;
        const PromisedTerm p = node_.promised();
        if (decode_message(bytes, m) == MessageError::none && is_monitor_id(from))
            if (const auto* c = std::get_if<TermClaim>(&m); c && c->round > 0 && c->term < p.term) {
                extra_.push_back({from, encode_message(TermPromise{c->term, c->round, true, c->term, from, Epoch{0}})});
                return;
            }
        RingNode::on_message(now, from, bytes);
    }
    void take_output(NodeOutput& out) override {
        RingNode::take_output(out);
        for (auto& a : extra_) out.messages.push_back(std::move(a));
        extra_.clear();
    }

private:
    std::vector<Addressed> extra_;
};

class DeliversTwice : public RingNode {
public:
    using RingNode::RingNode;
    void take_output(NodeOutput& out) override {
        const std::size_t first = out.token_events.size();
        RingNode::take_output(out);
        for (std::size_t i = first, n = out.token_events.size(); i < n; ++i)
            if (out.token_events[i].kind == TokenEventKind::delivered) out.token_events.push_back(out.token_events[i]);
    }
};

class DropsMessages : public RingNode {
public:
    using RingNode::RingNode;
    bool send_app(Instant now, NodeId to, Bytes payload) override {
        if (++calls_ % 3 == 0) return true;
        return RingNode::send_app(now, to, std::move(payload));
    }

private:
    unsigned calls_ = 0;
};

// Acts once, on the first token it passes on after `after` of virtual time.
class TokenMeddler : public RingNode {
public:
    TokenMeddler(NodeConfig c, Instant now, bool conjure) : RingNode(c, now), conjure_(conjure), succ_(c.successor) {}
    void on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes) override {
        now_ = now;
        RingNode::on_message(now, from, bytes);
    }
    void on_timer(Instant now) override {
        now_ = now;
        RingNode::on_timer(now);
    }
    void take_output(NodeOutput& out) override {
        const std::size_t first = out.messages.size();
        RingNode::take_output(out);
        if (done_ || now_ < Instant{} + std::chrono::seconds(1)) return;
        for (std::size_t i = first; i < out.messages.size(); ++i) {
            if (out.messages[i].peer != succ_ || !is_token_message(out.messages[i].bytes)) continue;
            done_ = true;
            if (conjure_) {
                out.messages.insert(out.messages.begin() + static_cast<std::ptrdiff_t>(i), out.messages[i]);
            } else {
                out.messages.erase(out.messages.begin() + static_cast<std::ptrdiff_t>(i));
            }
            return;
        }
    }

private:
    bool conjure_;
    NodeId succ_;
    Instant now_{};
    bool done_ = false;
};

// The ring's first node as it was before tokens were born only by the monitor's order: at every
// start, a process with no epoch makes a token of its own (then only when its successor said it
// never held one: a fresh ring, or so it seemed after two adjacent restarts).
class MakesOwnToken : public RingNode {
public:
    MakesOwnToken(NodeConfig c, Instant now) : RingNode(c, now), succ_(c.successor) {}
    void take_output(NodeOutput& out) override {
        RingNode::take_output(out);
        if (made_ || node_.token().epoch() != Epoch{0}) return;
        made_ = true;
        out.messages.push_back({succ_, encode_message(Token{TokenKind::free_token, Epoch{1}, {}, {}, 0, false, {}, {}})});
    }

private:
    NodeId succ_;
    bool made_ = false;
};

constexpr std::array kNames{
    std::pair{Mutant::none, "none"},
    std::pair{Mutant::monitor_hides_alarms, "monitor_hides_alarms"},
    std::pair{Mutant::monitor_ignores_missing, "monitor_ignores_missing"},
    std::pair{Mutant::monitor_miscounts, "monitor_miscounts"},
    std::pair{Mutant::monitor_stops_after_alarm, "monitor_stops_after_alarm"},
    std::pair{Mutant::monitor_alarm_storm, "monitor_alarm_storm"},
    std::pair{Mutant::monitor_misses_dead_nodes, "monitor_misses_dead_nodes"},
    std::pair{Mutant::monitor_guesses_port_closed, "monitor_guesses_port_closed"},
    std::pair{Mutant::monitor_orders_no_token, "monitor_orders_no_token"},
    std::pair{Mutant::monitor_restores_bad_snapshot, "monitor_restores_bad_snapshot"},
    std::pair{Mutant::participant_skips_channel, "participant_skips_channel"},
    std::pair{Mutant::participant_closes_late, "participant_closes_late"},
    std::pair{Mutant::participant_stale_state, "participant_stale_state"},
    std::pair{Mutant::node_delivers_twice, "node_delivers_twice"},
    std::pair{Mutant::node_drops_messages, "node_drops_messages"},
    std::pair{Mutant::node_conjures_token, "node_conjures_token"},
    std::pair{Mutant::node_swallows_token, "node_swallows_token"},
    std::pair{Mutant::node_makes_first_token, "node_makes_first_token"},
    std::pair{Mutant::node_forgets_deliveries, "node_forgets_deliveries"},
    std::pair{Mutant::walk_names_many_issuers, "walk_names_many_issuers"},
    std::pair{Mutant::walk_reuses_epoch, "walk_reuses_epoch"},
    std::pair{Mutant::monitor_issues_twice, "monitor_issues_twice"},
    std::pair{Mutant::monitor_orders_no_views, "monitor_orders_no_views"},
    std::pair{Mutant::monitor_evicts_at_once, "monitor_evicts_at_once"},
    std::pair{Mutant::node_ignores_lease, "node_ignores_lease"},
    std::pair{Mutant::node_confirms_old_terms, "node_confirms_old_terms"},
    std::pair{Mutant::monitor_orders_old_term, "monitor_orders_old_term"},
    std::pair{Mutant::monitor_standby_recovers, "monitor_standby_recovers"},
    std::pair{Mutant::monitor_standby_blind, "monitor_standby_blind"},
};

}  // namespace

std::string_view to_string(Mutant m) {
    for (const auto& [k, name] : kNames)
        if (k == m) return name;
    return "unknown";
}

std::optional<Mutant> parse_mutant(std::string_view name) {
    for (const auto& [k, n] : kNames)
        if (n == name) return k;
    return std::nullopt;
}

std::vector<Mutant> all_mutants() {
    std::vector<Mutant> v;
    for (const auto& [k, name] : kNames)
        if (k != Mutant::none) v.push_back(k);
    return v;
}

std::unique_ptr<SimNodeCore> make_node_core(Mutant m, std::size_t pos, NodeConfig config, Instant now) {
    if (m == Mutant::node_makes_first_token && pos == 0) return std::make_unique<Cloned<MakesOwnToken>>(config, now);
    if (pos == kMutatedNode) {
        switch (m) {
            case Mutant::participant_skips_channel: return std::make_unique<Cloned<NodeCoreOf<SkipsChannel>>>(config, now);
            case Mutant::participant_closes_late: return std::make_unique<Cloned<NodeCoreOf<ClosesLate>>>(config, now);
            case Mutant::participant_stale_state: return std::make_unique<Cloned<NodeCoreOf<StaleState>>>(config, now);
            case Mutant::node_delivers_twice: return std::make_unique<Cloned<DeliversTwice>>(config, now);
            case Mutant::node_drops_messages: return std::make_unique<Cloned<DropsMessages>>(config, now);
            case Mutant::node_conjures_token: return std::make_unique<Cloned<TokenMeddler>>(config, now, true);
            case Mutant::node_swallows_token: return std::make_unique<Cloned<TokenMeddler>>(config, now, false);
            case Mutant::node_forgets_deliveries: config.deliveries_at_start.reset(); break;
            case Mutant::node_ignores_lease: config.lease_required = false; break;
            case Mutant::node_confirms_old_terms: return std::make_unique<Cloned<ConfirmsOldTerms>>(config, now);
            default: break;
        }
    }
    return std::make_unique<Cloned<RingNode>>(config, now);
}

void mutate_verdicts(Mutant m, const MonitorConfig& config, std::vector<Verdict>& verdicts) {
    for (auto& v : verdicts) {
        switch (m) {
            case Mutant::monitor_hides_alarms:
                if (v.alarm()) {
                    v.kind = VerdictKind::inconclusive;
                    v.missing = {config.ring.front()};
                }
                break;
            case Mutant::monitor_ignores_missing:
                if (v.kind == VerdictKind::inconclusive) {
                    v.kind = verdict_for(v.tokens);
                    v.missing.clear();
                    v.silent.clear();
                }
                break;
            case Mutant::monitor_miscounts:
                if (v.kind != VerdictKind::inconclusive) {
                    v.tokens += v.in_flight;
                    v.kind = verdict_for(v.tokens);
                }
                break;
            default: break;
        }
    }
}

void mutate_incidents(Mutant m, const std::vector<Verdict>& verdicts, std::vector<IncidentEvent>& events) {
    if (m != Mutant::monitor_alarm_storm) return;
    for (const auto& v : verdicts) {
        if (!v.alarm()) continue;
        bool raised = false;
        for (const auto& e : events) raised |= e.kind == IncidentEventKind::alarm && e.verdict.id == v.id;
        if (!raised) events.push_back(IncidentEvent{.kind = IncidentEventKind::alarm, .fault = v.kind, .verdict = v, .first = v.id, .last = v.id});
    }
}

void mutate_node_events(Mutant m, std::vector<NodeEvent>& events) {
    if (m == Mutant::monitor_misses_dead_nodes) {
        std::erase_if(events, [](const NodeEvent& e) { return e.kind == NodeEventKind::node_down; });
    } else if (m == Mutant::monitor_guesses_port_closed) {
        for (auto& e : events) e.address = NodeAddress::port_closed;
    }
}

void mutate_recover_command(Mutant m, RecoverCommand& c) {
    if (m == Mutant::monitor_orders_no_token) c.issuer = kNoIssuer;
    if (m == Mutant::monitor_restores_bad_snapshot && c.mode == RecoverMode::rollback) ++c.snapshot.value;
}

void mutate_walk_order(Mutant m, NodeId to, RecoverCommand& c) {
    if (m == Mutant::walk_names_many_issuers) c.issuer = to;
    if (m == Mutant::walk_reuses_epoch) --c.epoch.value;
}

void mutate_view_orders(Mutant m, std::size_t nodes, std::vector<std::pair<NodeId, Message>>& orders) {
    if (m == Mutant::monitor_orders_no_views) {
        std::erase_if(orders,
                      [](const auto& o) { return std::holds_alternative<ViewOrder>(o.second) || std::holds_alternative<IssueToken>(o.second); });
        return;
    }
    if (m != Mutant::monitor_issues_twice) return;
    std::vector<std::pair<NodeId, Message>> copies;
    for (const auto& [to, msg] : orders)
        if (std::holds_alternative<IssueToken>(msg))
            for (std::size_t n = 0; n < nodes; ++n)
                if (n != to.value) copies.emplace_back(NodeId{static_cast<std::uint16_t>(n)}, msg);
    for (auto& c : copies) orders.push_back(std::move(c));
}

void mutate_order_terms(Mutant m, MonitorOutput& out) {
    if (m != Mutant::monitor_orders_old_term) return;
    auto back = [](Term& t) {
        if (t.value > 1) --t.value;
    };
    for (auto& [n, o] : out.view_orders)
        std::visit(
            [&back](auto& v) {
                if constexpr (requires { v.term; }) back(v.term);
            },
            o);
    for (auto& [n, rc] : out.recover_commands) back(rc.term);
    for (auto& [n, k] : out.keeps) back(k.term);
}

void mutate_monitor_config(Mutant m, MonitorConfig& c) {
    if (m == Mutant::monitor_evicts_at_once && c.evict_after) c.evict_after = std::chrono::milliseconds(1);
}

bool mutant_drops_starts(Mutant m, bool alarm_seen) { return m == Mutant::monitor_stops_after_alarm && alarm_seen; }

void mutate_decided(Mutant m, const MonitorConfig& config, std::size_t nodes, bool alarm_seen, const SimMonitorCore* core, MonitorOutput& out) {
    if (mutant_drops_starts(m, alarm_seen)) out.starts.clear();
    for (auto& [n, rc] : out.recover_commands) mutate_recover_command(m, rc);
    mutate_node_events(m, out.node_events);
    mutate_view_orders(m, nodes, out.view_orders);
    mutate_verdicts(m, config, out.verdicts);
    mutate_incidents(m, out.verdicts, out.incident_events);
    mutate_order_terms(m, out);
    if (core && !core->leading() && m == Mutant::monitor_standby_blind) {
        out.verdicts.clear();
        out.incident_events.clear();
    }
    if (core && !core->leading() && m == Mutant::monitor_standby_recovers) {
        for (const auto& v : out.verdicts) {
            if (!v.alarm()) continue;
            for (std::size_t i = 0; i < nodes; ++i)
                out.recover_commands.push_back({NodeId{static_cast<std::uint16_t>(i)},
                                                RecoverCommand{(std::uint64_t{1} << 62) + v.id.value, RecoverMode::regenerate,
                                                               Epoch{v.epoch.value + 1}, NodeId{0}, SnapshotId{0}, core->leadership().term()}});
            break;
        }
    }
}

}  // namespace ringwatch::sim
