// The exercise replay's trace, laid out as a diagram.
#include "tests/conformance/cl_diagram.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace ringwatch::cl {

diagram::Diagram replay_diagram(const Topology& top, const ReplayTrace& trace, const std::vector<RecordedSnapshot>& snapshots, std::string title) {
    diagram::Diagram d;
    d.title = std::move(title);
    d.scale = diagram::TimeScale::ticks;
    d.notes.push_back("Time in ticks; what happens within one tick is spread out in the order it happened. Hover for details.");
    d.notes.push_back("A token is recorded in flight when it arrives after its receiver recorded its state and before the marker on its channel.");
    std::map<std::string, std::size_t> lane;
    for (const auto& [id, balance] : top.balances) {
        lane[id] = d.lanes.size();
        d.lanes.push_back({id, id});
    }

    // Each channel's recorded messages, in arrival order, are its deliveries from the recording on.
    std::map<std::tuple<std::string, std::string, std::size_t>, std::size_t> delivered;  // (src, dst, nth token) -> message
    for (std::size_t i = 0; i < trace.messages.size(); ++i) {
        const auto& m = trace.messages[i];
        if (!m.marker && m.received) delivered[{m.src, m.dst, m.channel_index}] = i;
    }
    std::map<int, const RecordedSnapshot*> by_id;
    for (const auto& s : snapshots) by_id[s.id] = &s;
    std::vector<std::vector<std::string>> recorded_by(trace.messages.size());
    for (const auto& r : trace.recordings) {
        const auto s = by_id.find(static_cast<int>(r.id.value));
        if (s == by_id.end()) continue;
        for (const auto& [src, before] : r.delivered_before) {
            const auto ch = s->second->in_flight.find({src, r.server});
            if (ch == s->second->in_flight.end()) continue;
            for (std::size_t k = 0; k < ch->second.size(); ++k)
                if (auto t = delivered.find({src, r.server, before + k}); t != delivered.end())
                    recorded_by[t->second].push_back(fmt::format("{}", r.id.value));
        }
    }

    int last = 0;
    for (std::size_t i = 0; i < trace.messages.size(); ++i) {
        const auto& m = trace.messages[i];
        diagram::Arrow a;
        a.kind = m.marker ? diagram::ArrowKind::marker : diagram::ArrowKind::token;
        a.from = lane.at(m.src);
        a.to = lane.at(m.dst);
        a.sent = {static_cast<double>(m.sent), m.sent_seq};
        if (m.received) a.received = diagram::When{static_cast<double>(*m.received), m.received_seq};
        last = std::max(last, m.received.value_or(m.sent));
        const std::string route = fmt::format("{} → {}: sent at t={}, {}", m.src, m.dst, m.sent,
                                              m.received ? fmt::format("received at t={}", *m.received) : std::string("never received"));
        if (m.marker) {
            a.snapshot = fmt::format("{}", m.id.value);
            a.title = fmt::format("marker of snapshot {}, {}", a.snapshot, route);
        } else {
            a.label = fmt::format("token({})", m.tokens);
            a.recorded_by = recorded_by[i];
            a.title = fmt::format("{}, {}", a.label, route);
            if (!a.recorded_by.empty()) a.title += fmt::format("; recorded in flight by snapshot {}", fmt::join(a.recorded_by, ", "));
        }
        d.arrows.push_back(std::move(a));
    }
    for (const auto& r : trace.recordings) {
        last = std::max(last, r.at);
        const std::string snap = fmt::format("{}", r.id.value);
        d.records.push_back({lane.at(r.server),
                             {static_cast<double>(r.at), r.seq},
                             snap,
                             fmt::format("{}", r.state),
                             fmt::format("{} recorded its state for snapshot {} at t={} ({}): {} token{}", r.server, snap, r.at,
                                         r.marker_from ? "on the first marker, from " + *r.marker_from : "it starts the snapshot", r.state,
                                         r.state == 1 ? "" : "s")});
    }
    d.start = 0;
    d.end = last;
    return d;
}

}  // namespace ringwatch::cl
