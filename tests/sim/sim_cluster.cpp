// The cluster simulator: hosts for nodes and monitor (the simulator's stand-ins for the libuv
// drivers, with the same caller's contracts), ground truth, and the invariant checks.
#include "tests/sim/sim_cluster.h"

#include "tests/sim/sim_wakeup.h"

#include <cstring>

#include <fmt/format.h>

namespace ringwatch::sim {

struct SimCluster::SimNode {
    NodeId id;
    bool up = false;
    std::unique_ptr<Endpoint> endpoint;
    std::unique_ptr<Node> node;
    SendBacklog backlog;
    SimWakeup wakeup;
    EndpointOutput eout;
    NodeOutput nout;
};

struct SimCluster::SimMonitor {
    std::unique_ptr<Endpoint> endpoint;
    std::unique_ptr<MonitorCore> core;
    SendBacklog backlog;
    SimWakeup wakeup;
    EndpointOutput eout;
};

namespace {
Bytes seq_payload(std::uint64_t seq) {
    Bytes b(8);
    std::memcpy(b.data(), &seq, 8);
    return b;
}
std::uint64_t payload_seq(const Bytes& b) {
    std::uint64_t v = 0;
    if (b.size() == 8) std::memcpy(&v, b.data(), 8);
    return v;
}
}  // namespace

SimCluster::SimCluster(SimConfig config) : config_(std::move(config)), prng_(config_.seed), net_(events_, prng_, config_.net) {
    for (std::size_t i = 0; i < config_.nodes; ++i) {
        nodes_.push_back(std::make_unique<SimNode>());
        nodes_.back()->id = id_of(i);
    }
    monitor_ = std::make_unique<SimMonitor>();
}

SimCluster::~SimCluster() = default;

void SimCluster::boot_node(std::size_t pos, bool initial_token) {
    SimNode& n = *nodes_[pos];
    const Instant now = events_.now();
    const std::size_t count = config_.nodes;
    const NodeId pred = id_of((pos + count - 1) % count), succ = id_of((pos + 1) % count);
    n.up = true;
    n.endpoint = std::make_unique<Endpoint>(LinkConfig{}, n.id, Incarnation{prng_.next() | 1});
    n.endpoint->add_peer(pred, now);
    n.endpoint->add_peer(succ, now);
    n.endpoint->add_peer(kMonitorId, now);
    NodeConfig nc;
    nc.self = n.id;
    nc.predecessor = pred;
    nc.successor = succ;
    nc.token.hold = config_.hold;
    nc.initial_token = initial_token;
    n.node = std::make_unique<Node>(nc, now);
    n.backlog = SendBacklog{};
    net_.attach(n.id, [this, pos](NodeId, Bytes d) {
        SimNode& nn = *nodes_[pos];
        if (!nn.up) return;
        nn.endpoint->on_datagram(events_.now(), d);
        pump_node(pos);
    });
    pump_node(pos);
}

void SimCluster::crash_node(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    if (!n.up) return;
    n.up = false;
    net_.detach(n.id);
    n.endpoint.reset();
    n.node.reset();
    n.wakeup.cancel();
    outages_[n.id].push_back({events_.now(), std::nullopt});
    note_truth();
}

void SimCluster::pump_node(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    if (!n.up) return;
    const Instant now = events_.now();
    const NodeId succ = n.node->config().successor, pred = n.node->config().predecessor;
    for (int round = 0; round < 16; ++round) {
        bool any = false;
        n.nout.clear();
        n.node->take_output(n.nout);
        for (auto& m : n.nout.messages) {
            any = true;
            const bool token = m.peer == succ && is_token_message(m.bytes);
            if (token) ++in_transit_[{n.id, succ}];
            if (!n.backlog.send(*n.endpoint, m.peer, std::move(m.bytes)) && token) --in_transit_[{n.id, succ}];
        }
        for (auto& e : n.nout.token_events) {
            if (e.kind == TokenEventKind::lost_by_fault || e.kind == TokenEventKind::duplicated_by_fault) {
                fault_effects_.push_back({now, e.kind});
            } else if (e.kind == TokenEventKind::delivered) {
                ++app_delivered_total_;
                auto& last = app_last_seen_[{e.src, n.id}];
                const std::uint64_t seq = payload_seq(e.payload);
                if (seq <= last) {
                    violations_.push_back(fmt::format("app message {}->{} #{} delivered after #{} (repeat or out of order)", e.src, n.id, seq, last));
                }
                last = std::max(last, seq);
            }
        }
        n.endpoint->flush(now);
        n.eout.clear();
        n.endpoint->take_output(n.eout);
        for (auto& d : n.eout.datagrams) {
            any = true;
            net_.send(n.id, d.peer, std::move(d.bytes));
        }
        for (auto& m : n.eout.delivered) {
            any = true;
            if (m.peer == pred && is_token_message(m.bytes)) --in_transit_[{pred, n.id}];
            n.node->on_message(now, m.peer, m.bytes);
        }
        for (auto& e : n.eout.events) {
            any = true;
            n.backlog.on_link_event(*n.endpoint, e.peer, e.event);
            if (e.event.kind == LinkEventKind::session_reset) {
                // Whatever was in transit between us and the restarted peer is gone with its session.
                in_transit_[{n.id, e.peer}] = 0;
                in_transit_[{e.peer, n.id}] = 0;
            }
        }
        if (!any) break;
    }
    note_truth();
    arm_node_timer(pos);
}

void SimCluster::arm_node_timer(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    n.wakeup.arm(events_, earliest(n.endpoint->next_deadline(), n.node->next_deadline()), [this, pos] {
        nodes_[pos]->node->on_timer(events_.now());
        pump_node(pos);
    });
}

void SimCluster::pump_monitor() {
    SimMonitor& m = *monitor_;
    const Instant now = events_.now();
    for (int round = 0; round < 16; ++round) {
        bool any = false;
        for (auto& c : m.core->take_commands()) {
            any = true;
            m.backlog.send(*m.endpoint, c.node, encode_message(c.start));
        }
        for (auto& v : m.core->take_verdicts()) {
            any = true;
            check_verdict(v);
            if (on_verdict) on_verdict(v);
            verdicts_.push_back(std::move(v));
        }
        m.endpoint->flush(now);
        m.eout.clear();
        m.endpoint->take_output(m.eout);
        for (auto& d : m.eout.datagrams) {
            any = true;
            net_.send(kMonitorId, d.peer, std::move(d.bytes));
        }
        for (auto& d : m.eout.delivered) {
            any = true;
            Message msg;
            if (decode_message(d.bytes, msg) != MessageError::none) continue;
            if (auto* r = std::get_if<SnapshotReport>(&msg)) {
                if (config_.sabotage_channel_recording) r->in_flight.clear();
                m.core->on_report(now, d.peer, *r);
            }
        }
        for (auto& e : m.eout.events) {
            any = true;
            m.backlog.on_link_event(*m.endpoint, e.peer, e.event);
            if (e.event.kind == LinkEventKind::peer_silent) m.core->set_node_silent(e.peer, true);
            if (e.event.kind == LinkEventKind::peer_alive || e.event.kind == LinkEventKind::connected ||
                e.event.kind == LinkEventKind::session_reset)
                m.core->set_node_silent(e.peer, false);
        }
        if (!any) break;
    }
    arm_monitor_timer();
}

void SimCluster::arm_monitor_timer() {
    SimMonitor& m = *monitor_;
    m.wakeup.arm(events_, earliest(m.endpoint->next_deadline(), m.core->next_deadline()), [this] {
        monitor_->core->on_timer(events_.now());
        pump_monitor();
    });
}

void SimCluster::send_app_message() {
    const Instant now = events_.now();
    if (healed_ || config_.app_messages_per_s <= 0) return;
    const std::size_t src = prng_.below(config_.nodes);
    std::size_t dst = prng_.below(config_.nodes - 1);
    if (dst >= src) ++dst;
    SimNode& n = *nodes_[src];
    if (n.up) {
        auto& sent = app_sent_[{n.id, id_of(dst)}];
        if (n.node->send_app(now, id_of(dst), seq_payload(sent + 1))) {
            ++sent;
            ++app_sent_total_;
        }
        pump_node(src);
    }
    const auto mean_us = static_cast<std::int64_t>(1e6 / config_.app_messages_per_s);
    events_.after(Duration{prng_.between(1, 2 * mean_us)}, [this] { send_app_message(); });
}

std::uint32_t SimCluster::true_tokens() const {
    std::int64_t t = 0;
    for (const auto& n : nodes_)
        if (n->up) t += static_cast<std::int64_t>(n->node->token().held());
    for (const auto& [k, v] : in_transit_) t += std::max<std::int64_t>(v, 0);
    return static_cast<std::uint32_t>(t);
}

void SimCluster::note_truth() {
    const std::uint32_t t = true_tokens();
    if (truth_.empty() || truth_.back().second != t) truth_.push_back({events_.now(), t});
}

void SimCluster::check_verdict(const Verdict& v) {
    const Instant from = v.started, to = events_.now();
    // The true count over the snapshot's life: constant, or not.
    std::optional<std::uint32_t> at_start;
    bool changed = false;
    for (const auto& [t, c] : truth_) {
        if (t <= from) {
            at_start = c;
        } else if (t <= to && (!at_start || c != *at_start)) {
            changed = true;
        }
    }
    // A node down for the snapshot's whole life cannot have reported.
    for (const auto& [node, spans] : outages_) {
        for (const auto& [down, up] : spans) {
            if (down <= from && (!up || *up >= to)) {
                if (v.kind != VerdictKind::inconclusive) {
                    violations_.push_back(fmt::format("snapshot {} is {} although node {} was down throughout", v.id, to_string(v.kind), node));
                } else if (std::find(v.missing.begin(), v.missing.end(), node) == v.missing.end()) {
                    violations_.push_back(fmt::format("snapshot {} is inconclusive without naming node {}, down throughout", v.id, node));
                }
            }
        }
    }
    if (v.kind == VerdictKind::inconclusive) {
        if (v.missing.empty()) violations_.push_back(fmt::format("snapshot {} inconclusive without naming a node", v.id));
        return;
    }
    if (at_start && !changed && v.tokens != *at_start) {
        violations_.push_back(fmt::format("snapshot {} says {} tokens ({}), the truth stayed {} for its whole life", v.id, v.tokens,
                                          to_string(v.kind), *at_start));
    }
    if (v.alarm() && config_.injects.empty() && config_.crashes.empty()) {
        violations_.push_back(fmt::format("false alarm: snapshot {} says {} with network faults only", v.id, to_string(v.kind)));
    }
}

bool SimCluster::all_app_delivered() const {
    for (const auto& [k, sent] : app_sent_) {
        auto it = app_last_seen_.find(k);
        if ((it == app_last_seen_.end() ? 0 : it->second) != sent) return false;
    }
    return true;
}

void SimCluster::check_end(SimSummary& s) {
    const bool clean = config_.injects.empty() && config_.crashes.empty();
    if (clean && !all_app_delivered()) {
        violations_.push_back(fmt::format("liveness: {} of {} application messages delivered {} after healing", app_delivered_total_,
                                          app_sent_total_, fmt::format("{}s", std::chrono::duration_cast<std::chrono::seconds>(config_.heal_within).count())));
    }
    if (clean && app_delivered_total_ != app_sent_total_) {
        violations_.push_back(fmt::format("exactly-once: {} sent, {} delivered", app_sent_total_, app_delivered_total_));
    }
    // Each fault that took effect is caught by the first conclusive snapshot started after it,
    // unless the truth was back to one token (say, a loss then a duplication) during that snapshot.
    for (const auto& [t, kind] : fault_effects_) {
        for (const auto& v : verdicts_) {
            if (v.started <= t || v.kind == VerdictKind::inconclusive) continue;
            if (v.alarm()) {
                ++s.faults_detected;
            } else {
                bool one_during = false;
                for (std::size_t i = 0; i < truth_.size(); ++i) {
                    const Instant begin = truth_[i].first;
                    const Instant end = i + 1 < truth_.size() ? truth_[i + 1].first : events_.now();
                    if (truth_[i].second == 1 && begin <= v.started + v.duration && end >= v.started) one_during = true;
                }
                if (!one_during) {
                    violations_.push_back(fmt::format("fault {} at {} us was not caught by snapshot {} (the first after it)", to_string(kind),
                                                      to_us(t), v.id));
                }
            }
            break;
        }
    }
    if (clean) {
        bool ok_after_heal = false;
        for (const auto& v : verdicts_) ok_after_heal |= v.kind == VerdictKind::ok && v.started >= Instant{} + config_.duration;
        if (!ok_after_heal) violations_.push_back("liveness: no ok snapshot after the network healed");
    }
}

SimSummary SimCluster::run() {
    const Instant start = events_.now();
    // The monitor and every node start at time 0; node 0 makes the ring's first token.
    {
        SimMonitor& m = *monitor_;
        m.endpoint = std::make_unique<Endpoint>(LinkConfig{}, kMonitorId, Incarnation{prng_.next() | 1});
        MonitorConfig mc;
        for (std::size_t i = 0; i < config_.nodes; ++i) {
            mc.ring.push_back(id_of(i));
            m.endpoint->add_peer(id_of(i), start);
        }
        mc.interval = config_.interval;
        mc.timeout = config_.timeout;
        mc.single_initiator = config_.single_initiator;
        m.core = std::make_unique<MonitorCore>(mc, start);
        net_.attach(kMonitorId, [this](NodeId, Bytes d) {
            monitor_->endpoint->on_datagram(events_.now(), d);
            pump_monitor();
        });
        pump_monitor();
    }
    for (std::size_t i = 0; i < config_.nodes; ++i) boot_node(i, i == 0);
    for (const auto& inj : config_.injects) {
        events_.at(start + inj.at, [this, inj] {
            SimNode& n = *nodes_[inj.node % config_.nodes];
            if (!n.up) return;
            n.node->inject(events_.now(), inj.kind);
            pump_node(inj.node % config_.nodes);
        });
    }
    for (const auto& c : config_.crashes) {
        events_.at(start + c.at, [this, c] { crash_node(c.node % config_.nodes); });
        if (c.restart_after) {
            events_.at(start + c.at + *c.restart_after, [this, c] {
                const std::size_t pos = c.node % config_.nodes;
                if (nodes_[pos]->up) return;
                auto& spans = outages_[nodes_[pos]->id];
                if (!spans.empty() && !spans.back().second) spans.back().second = events_.now();
                boot_node(pos, false);
            });
        }
    }
    events_.after(Duration{1000}, [this] { send_app_message(); });

    events_.run_until(start + config_.duration);
    // Heal: no more network faults, no more new messages; the system must settle.
    healed_ = true;
    net_.set_faults(NetworkFaults{});
    net_.clear_link_faults();
    net_.heal_all();
    const Instant settle_until = start + config_.duration + config_.heal_within;
    const Instant min_after = start + config_.duration + 4 * config_.interval + config_.timeout;
    while (events_.now() < settle_until && (events_.now() < min_after || !all_app_delivered())) {
        if (!events_.step()) break;
    }

    SimSummary s;
    s.seed = config_.seed;
    check_end(s);
    s.violations = violations_;
    for (const auto& v : verdicts_) {
        ++s.snapshots;
        switch (v.kind) {
            case VerdictKind::ok: ++s.ok; break;
            case VerdictKind::token_lost: ++s.token_lost; break;
            case VerdictKind::token_duplicated: ++s.token_duplicated; break;
            case VerdictKind::inconclusive: ++s.inconclusive; break;
        }
    }
    s.faults_taken_effect = fault_effects_.size();
    s.app_sent = app_sent_total_;
    s.app_delivered = app_delivered_total_;
    for (const auto& n : nodes_)
        if (n->up) s.link_retransmits += n->endpoint->total_link_stats().retransmits;
    s.datagrams_lost = net_.stats().lost;
    s.datagrams_duplicated = net_.stats().duplicated;
    s.datagrams_reordered = net_.stats().reordered;
    s.virtual_time = events_.now() - start;
    return s;
}

SimSummary run_simulation(const SimConfig& config, const std::function<void(const Verdict&)>& on_verdict) {
    SimCluster c(config);
    c.on_verdict = on_verdict;
    return c.run();
}

}  // namespace ringwatch::sim
