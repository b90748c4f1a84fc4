// Snapshot scheduling, report gathering and verdicts.
#include "monitor/core/monitor_core.h"

#include <algorithm>

namespace ringwatch {

std::string_view to_string(VerdictKind v) {
    switch (v) {
        case VerdictKind::ok: return "ok";
        case VerdictKind::token_lost: return "token_lost";
        case VerdictKind::token_duplicated: return "token_duplicated";
        case VerdictKind::inconclusive: return "inconclusive";
    }
    return "unknown";
}

MonitorCore::MonitorCore(MonitorConfig config, Instant now)
    : config_(std::move(config)),
      next_start_(now + config_.interval),
      next_id_(first_snapshot_of_era(config_.era)),
      liveness_(config_.ring, config_.liveness, now) {}

bool MonitorCore::in_ring(NodeId n) const { return std::find(config_.ring.begin(), config_.ring.end(), n) != config_.ring.end(); }

void MonitorCore::start_snapshot(Instant now) {
    if (pending_.size() >= config_.max_in_flight) {
        ++stats_.skipped_in_flight_bound;
        return;
    }
    const SnapshotId id = next_id_;
    ++next_id_.value;
    pending_.emplace(id, Pending{now, {}, incarnations_, {}});
    ++stats_.started;
    const SnapshotId abandon_before = pending_.begin()->first;
    if (config_.single_initiator) {
        commands_.push_back({config_.ring.front(), SnapshotStart{id, abandon_before}});
    } else {
        for (NodeId n : config_.ring) commands_.push_back({n, SnapshotStart{id, abandon_before}});
    }
}

void MonitorCore::on_report(Instant now, NodeId from, const SnapshotReport& report) {
    if (!in_ring(from) || report.node != from) {
        ++stats_.unexpected_reports;
        return;
    }
    liveness_.heard(now, from, report.incarnation);
    auto it = pending_.find(report.id);
    if (it == pending_.end()) {
        ++stats_.late_reports;
        return;
    }
    if (!it->second.reports.emplace(from, report).second) {
        ++stats_.unexpected_reports;
        return;
    }
    // A process that started after this snapshot began may have joined it afresh (a delayed marker
    // reaches the new process): its part of the cut was not taken against the same process.
    auto inc = it->second.incarnations.find(from);
    if (inc != it->second.incarnations.end() && inc->second != report.incarnation) it->second.mark_restarted(from);
    if (it->second.reports.size() == config_.ring.size()) {
        decide(now, it->first, it->second, false);
        pending_.erase(it);
    }
}

void MonitorCore::set_node_silent(NodeId node, bool silent) {
    if (silent) {
        silent_.insert(node);
    } else {
        silent_.erase(node);
    }
}

void MonitorCore::on_link_event(Instant now, NodeId node, const LinkEvent& e) {
    switch (e.kind) {
        case LinkEventKind::peer_silent: set_node_silent(node, true); break;
        case LinkEventKind::connected:
        case LinkEventKind::session_reset:
            // A process the snapshots under way did not begin with (restarted, or first heard of
            // now): their cut may mix it with its predecessor, so they are not judged.
            for (auto& [id, p] : pending_) {
                auto it = p.incarnations.find(node);
                if (it == p.incarnations.end() || it->second != e.peer_incarnation) p.mark_restarted(node);
            }
            incarnations_[node] = e.peer_incarnation;
            set_node_silent(node, false);
            liveness_.heard(now, node, e.peer_incarnation);
            break;
        case LinkEventKind::peer_alive:
            set_node_silent(node, false);
            liveness_.heard(now, node, kUnknownIncarnation);
            break;
        case LinkEventKind::window_open: break;
    }
}

void MonitorCore::on_timer(Instant now) {
    liveness_.on_timer(now);
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (now - it->second.started >= config_.timeout) {
            decide(now, it->first, it->second, true);
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    // One start per call even after a long pause: no burst of catch-up snapshots.
    if (now >= next_start_) {
        start_snapshot(now);
        next_start_ = std::max(next_start_ + config_.interval, now);
        if (next_start_ <= now) next_start_ = now + config_.interval;
    }
}

void MonitorCore::decide(Instant now, SnapshotId id, Pending& p, bool timed_out) {
    Verdict v;
    v.id = id;
    v.started = p.started;
    v.duration = now - p.started;
    if (timed_out) {
        for (NodeId n : config_.ring) {
            if (p.reports.contains(n)) continue;
            v.missing.push_back(n);
            if (silent_.contains(n)) v.silent.push_back(n);
        }
    }
    for (const auto& [node, r] : p.reports) {
        // Counts come from the reports' counts; the lists only say where (and may be cut short).
        for (std::size_t i = 0; i < r.state.held_count && i < kMaxTokensInReport; ++i) v.holders.push_back(node);
        v.held += r.state.held_count;
        if (r.in_flight_count > 0) {
            v.channels.push_back({r.channel_from, node, r.in_flight_count});
            v.in_flight += r.in_flight_count;
        }
        v.truncated |= r.state.held.size() < r.state.held_count || r.in_flight.size() < r.in_flight_count;
    }
    v.tokens = v.held + v.in_flight;
    v.restarted = p.restarted;
    // A ring whose first token is not made yet has nothing to lose: not an alarm.
    v.forming = v.tokens == 0 && v.missing.empty() &&
                std::none_of(p.reports.begin(), p.reports.end(), [](const auto& r) { return r.second.state.had_token; });
    v.kind = !v.missing.empty() || !v.restarted.empty() || v.forming ? VerdictKind::inconclusive : verdict_for(v.tokens);
    switch (v.kind) {
        case VerdictKind::ok: ++stats_.ok; break;
        case VerdictKind::token_lost: ++stats_.token_lost; break;
        case VerdictKind::token_duplicated: ++stats_.token_duplicated; break;
        case VerdictKind::inconclusive: ++stats_.inconclusive; break;
    }
    incidents_.on_verdict(now, v);
    verdicts_.push_back(std::move(v));
}

std::optional<Instant> MonitorCore::next_deadline() const {
    Instant d = next_start_;
    if (auto l = liveness_.next_deadline()) d = std::min(d, *l);
    for (const auto& [id, p] : pending_) d = std::min(d, p.started + config_.timeout);
    return d;
}

}  // namespace ringwatch
