// The simulator's space-time record: matches what a core passed on with what the receiver's link
// handed over (per link, in order), notes the oracle's decisions, and turns it into a diagram.
#include "tests/sim/space_time.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "tests/sim/scenarios.h"

namespace ringwatch::sim {

std::optional<TimeWindow> parse_window(std::string_view text) {
    const auto dots = text.find("..");
    if (dots == std::string_view::npos) return std::nullopt;
    const auto a = parse_duration(text.substr(0, dots)), b = parse_duration(text.substr(dots + 2));
    if (!a || !b || *a >= *b) return std::nullopt;
    return TimeWindow{Instant{} + *a, Instant{} + *b};
}

SpaceTimeRecorder::SpaceTimeRecorder(std::optional<TimeWindow> window) {
    if (window) {
        start_ = window->start;
        end_ = window->end;
    }
}

bool SpaceTimeRecorder::tracked(const oracle_wire::Read& m) const {
    return m.kind == oracle_wire::Kind::token || m.kind == oracle_wire::Kind::marker || m.kind == oracle_wire::Kind::start;
}

void SpaceTimeRecorder::sent(Instant now, NodeId from, std::uint32_t from_gen, NodeId to, const oracle_wire::Read& m) {
    if (!tracked(m)) return;
    if (m.kind == oracle_wire::Kind::start && !started()) {
        start_ = now;
        end_ = now + kDefaultWindow;
    }
    if (started() && now > *end_) return;  // it can touch the window no more
    Message msg{m, from, to, from_gen, now, seq_++, std::nullopt, 0, {}, false, false};
    if (m.kind == oracle_wire::Kind::token && std::exchange(copy_next_[from], false)) msg.copy = true;
    links_[{from, to}].push_back(std::move(msg));
}

void SpaceTimeRecorder::handed(Instant now, NodeId to, NodeId from, std::uint32_t from_gen, const oracle_wire::Read& m) {
    last_handed_[to].reset();
    if (!tracked(m)) return;
    auto& q = links_[{from, to}];
    // Links hand over in order: the first one of this kind from this process (and snapshot) it is.
    const auto same = [&](const Message& e) {
        return e.what.kind == m.kind && (from_gen == 0 || e.from_gen == from_gen) &&
               (m.kind == oracle_wire::Kind::token || e.what.snapshot == m.snapshot);
    };
    const auto it = std::find_if(q.begin(), q.end(), same);
    if (it == q.end()) return;                                                 // passed on before the record began
    for (auto e = q.begin(); e != it; ++e) keep(std::move(*e), std::nullopt);  // overtaken: never arrived
    Message msg = std::move(*it);
    q.erase(q.begin(), std::next(it));
    msg.received = now;
    msg.received_seq = seq_++;
    keep(std::move(msg), to);
}

void SpaceTimeRecorder::link_reset(NodeId from, NodeId to) {
    auto& q = links_[{from, to}];
    for (auto& e : q) keep(std::move(e), std::nullopt);
    q.clear();
}

void SpaceTimeRecorder::keep(Message m, std::optional<NodeId> handed_to) {
    if (!started() || m.sent > *end_) return;
    if (m.received ? *m.received < *start_ : m.sent < *start_) return;
    messages_.push_back(std::move(m));
    if (handed_to) last_handed_[*handed_to] = messages_.size() - 1;
}

void SpaceTimeRecorder::recorded(Instant now, NodeId node, SnapshotId snapshot, std::uint32_t held, bool by_marker) {
    if (!in_window(now)) return;
    points_.push_back({node, now, seq_++, snapshot, held, by_marker});
    open_cuts_[{node, snapshot}] = now;
}

void SpaceTimeRecorder::recorded_in_flight(Instant, NodeId node, SnapshotId snapshot) {
    if (auto i = last_handed_[node]) messages_[*i].recorded_by.push_back(snapshot);
}

void SpaceTimeRecorder::cut_closed(Instant now, NodeId node, SnapshotId snapshot, std::uint32_t held, std::uint32_t in_flight) {
    const auto it = open_cuts_.find({node, snapshot});
    if (it == open_cuts_.end()) return;  // recorded outside the window
    cuts_.push_back({node, snapshot, it->second, now, held, in_flight});
    open_cuts_.erase(it);
}

void SpaceTimeRecorder::fault_took_effect(const FaultEffect& e) {
    if (e.kind == InjectKind::duplicate) copy_next_[e.node] = true;  // the copy is being passed on right now
    if (e.kind == InjectKind::lose)
        if (auto i = last_handed_[e.node]) messages_[*i].lost = true;
    if (in_window(e.at)) faults_.push_back({e, seq_++});
}

std::optional<TimeWindow> SpaceTimeRecorder::window() const {
    if (!started()) return std::nullopt;
    return TimeWindow{*start_, *end_};
}

namespace {
std::string seconds(Instant t) { return fmt::format("{:.6f} s", static_cast<double>(to_us(t)) / 1e6); }
diagram::When when(Instant t, std::uint64_t seq) { return {static_cast<double>(to_us(t)), seq}; }
std::string snapshot_text(SnapshotId s) { return fmt::format("{}", s); }
std::string tokens_text(std::uint32_t n) { return fmt::format("{} token{}", n, n == 1 ? "" : "s"); }
}  // namespace

diagram::Diagram SpaceTimeRecorder::diagram(std::size_t nodes, std::string title) const {
    diagram::Diagram d;
    d.title = std::move(title);
    d.scale = diagram::TimeScale::compressed;
    d.lanes.push_back({"monitor", "monitor"});
    for (std::size_t i = 0; i < nodes; ++i) d.lanes.push_back({fmt::format("{}", i), fmt::format("node {}", i)});
    const auto lane = [](NodeId id) { return id == kMonitorId ? std::size_t{0} : std::size_t{id.value} + 1; };
    const auto name = [](NodeId id) { return id == kMonitorId ? std::string("the monitor") : fmt::format("node {}", id); };
    const auto w = window();
    if (!w) {
        d.notes.push_back("No snapshot started in this run: nothing to draw.");
        return d;
    }
    d.start = static_cast<double>(to_us(w->start));
    d.end = static_cast<double>(to_us(w->end));
    d.notes.push_back(fmt::format("From {} to {} of virtual time. Time runs left to right in order of events; long idle stretches are squeezed (≈).",
                                  seconds(w->start), seconds(w->end)));
    d.notes.push_back(
        "Each arrow goes from where a core passed a message to its link to where the receiver's link handed it over. Hover for details.");

    std::vector<const Message*> all;
    for (const auto& m : messages_) all.push_back(&m);
    for (const auto& [link, q] : links_)
        for (const auto& m : q)
            if (m.sent >= w->start && m.sent <= w->end) all.push_back(&m);  // still on its way when the run ended
    for (const Message* m : all) {
        if (lane(m->from) >= d.lanes.size() || lane(m->to) >= d.lanes.size()) continue;
        diagram::Arrow a;
        a.from = lane(m->from);
        a.to = lane(m->to);
        a.sent = when(m->sent, m->sent_seq);
        if (m->received) a.received = when(*m->received, m->received_seq);
        a.lost = m->lost;
        a.copy = m->copy;
        for (SnapshotId s : m->recorded_by) a.recorded_by.push_back(snapshot_text(s));
        const std::string route = fmt::format("{} → {}: passed on at {}, {}", name(m->from), name(m->to), seconds(m->sent),
                                              m->received ? "handed over at " + seconds(*m->received) : std::string("never handed over"));
        if (m->what.kind == oracle_wire::Kind::token) {
            a.kind = diagram::ArrowKind::token;
            a.label = m->what.busy ? fmt::format("busy {}→{}", m->what.src, m->what.dst) : "free";
            if (m->what.epoch != 1) a.label += fmt::format(" e{}", m->what.epoch);
            a.title = fmt::format("token ({}, epoch {}{}), {}", m->what.busy ? fmt::format("busy, {} → {}", m->what.src, m->what.dst) : "free",
                                  m->what.epoch, m->copy ? ", the copy a duplicate fault made" : "", route);
            if (m->lost) a.title += "; a lose fault dropped it there";
            if (!m->recorded_by.empty()) a.title += fmt::format("; recorded in flight by snapshot {}", fmt::join(a.recorded_by, ", "));
        } else {
            a.kind = m->what.kind == oracle_wire::Kind::marker ? diagram::ArrowKind::marker : diagram::ArrowKind::start;
            a.snapshot = snapshot_text(SnapshotId{m->what.snapshot});
            a.title = fmt::format("{} of snapshot {}, {}", a.kind == diagram::ArrowKind::marker ? "marker" : "start request", a.snapshot, route);
        }
        d.arrows.push_back(std::move(a));
    }
    for (const Point& p : points_) {
        if (lane(p.node) >= d.lanes.size()) continue;
        const std::string snap = snapshot_text(p.snapshot);
        d.records.push_back({lane(p.node), when(p.at, p.seq), snap, tokens_text(p.held),
                             fmt::format("{} recorded its state for snapshot {} at {} ({}): it held {}", name(p.node), snap, seconds(p.at),
                                         p.by_marker ? "on the first marker" : "on the monitor's start", tokens_text(p.held))});
    }
    for (const FaultAt& f : faults_) {
        if (lane(f.effect.node) >= d.lanes.size()) continue;
        const bool lose = f.effect.kind == InjectKind::lose;
        d.faults.push_back({lane(f.effect.node), when(f.effect.at, f.seq), std::string(to_string(f.effect.kind)),
                            fmt::format("{} at {}: {}", name(f.effect.node), seconds(f.effect.at),
                                        lose ? "a lose fault dropped the token it was handed" : "a duplicate fault passed the token on twice")});
    }
    return d;
}

}  // namespace ringwatch::sim
