// The exercise's simulator around our snapshot participant.
#include "tests/conformance/cl_replay.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace ringwatch::cl {

int DelaySource::next() {
    if (seeded_) return static_cast<int>(prng_.below(5));
    return pos_ < digits_.size() ? digits_[pos_++] - '0' : 0;
}

Replay::Replay(const Topology& top, DelaySource delays) : balance_(top.balances), delays_(std::move(delays)) {
    std::map<std::string, std::vector<std::string>> in, out;
    for (const auto& [src, dst] : top.links) {
        links_[{src, dst}];
        out[src].push_back(dst);
        in[dst].push_back(src);
    }
    SnapshotLimits unbounded;
    unbounded.max_in_flight = 1 << 20;  // a script decides how many overlap
    for (auto& [id, bal] : balance_) {
        auto& o = out[id];
        std::sort(o.begin(), o.end());  // markers go out in lexicographic order of destination
        part_[id] = std::make_unique<Participant>(in[id], o, unbounded);
        total_ += bal;
    }
}

void Replay::queue(const std::string& src, const std::string& dst, Item item) {
    item.due = now_ + 1 + delays_.next();
    if (tracing_) {
        item.traced = trace_.messages.size();
        trace_.messages.push_back({src, dst, item.marker, item.tokens, item.id, now_, seq_++, std::nullopt, 0, 0});
    }
    links_[{src, dst}].push_back(item);
}

void Replay::note_recording(const std::string& server, SnapshotId id, const std::optional<std::string>& marker_from) {
    ReplayTrace::Recording r{server, id, now_, seq_++, balance_[server], marker_from, {}};
    for (const auto& [link, q] : links_)
        if (link.second == server) r.delivered_before[link.first] = tokens_delivered_[link];
    trace_.recordings.push_back(std::move(r));
}

void Replay::drain(const std::string& server) {
    Participant& p = *part_[server];
    for (const auto& m : p.take_markers()) queue(server, m.to, Item{true, 0, m.id, 0});
    for (auto& c : p.take_completed()) done_[static_cast<int>(c.id.value)].emplace(server, std::move(c));
}

void Replay::tick() {
    ++now_;
    auto it = links_.begin();
    while (it != links_.end()) {
        const std::string sender = it->first.first;
        bool delivered = false;
        for (; it != links_.end() && it->first.first == sender; ++it) {
            auto& q = it->second;
            if (delivered || q.empty() || q.front().due > now_) continue;
            const Item item = q.front();
            q.pop_front();
            const std::string& dst = it->first.second;
            if (tracing_) {
                auto& m = trace_.messages[item.traced];
                m.received = now_;
                m.received_seq = seq_++;
                if (!item.marker) m.channel_index = tokens_delivered_[it->first]++;
            }
            if (item.marker) {
                Participant& p = *part_[dst];
                const bool was_recording = p.recording(item.id) || p.finished(item.id);
                p.on_marker(item.id, sender, balance_[dst]);
                if (tracing_ && !was_recording && (p.recording(item.id) || p.finished(item.id))) note_recording(dst, item.id, sender);
            } else {
                balance_[dst] += item.tokens;
                part_[dst]->on_message(sender, item.tokens);
            }
            drain(dst);
            delivered = true;  // one message per sender per tick
        }
    }
}

bool Replay::complete() const {
    for (int id = 0; id < next_snapshot_; ++id) {
        auto it = done_.find(id);
        if (it == done_.end() || it->second.size() != balance_.size()) return false;
    }
    return true;
}

void Replay::run(const std::vector<Command>& script, const std::string& events_file) {
    for (const Command& c : script) {
        if (const auto* s = std::get_if<SendCmd>(&c.what)) {
            int& b = balance_[s->src];
            if (s->tokens > b)
                throw std::runtime_error(
                    fmt::format("{}:{}: send {} {} {}: '{}' has only {} tokens", events_file, c.line, s->src, s->dst, s->tokens, s->src, b));
            b -= s->tokens;
            queue(s->src, s->dst, Item{false, s->tokens, SnapshotId{}, 0});
        } else if (const auto* sn = std::get_if<SnapshotCmd>(&c.what)) {
            const SnapshotId id{static_cast<std::uint64_t>(next_snapshot_++)};
            if (part_[sn->server]->start(id, balance_[sn->server]) && tracing_) note_recording(sn->server, id, std::nullopt);
            drain(sn->server);
        } else {
            for (int k = 0; k < std::get<TickCmd>(c.what).ticks; ++k) tick();
        }
    }
    // Enough ticks for any marker to cross every link many times over; a snapshot still open after
    // that can never complete (a server no marker can reach).
    const int limit = now_ + 10 * static_cast<int>(links_.size() + 1) * 5 + 1000;
    while (!complete() && now_ < limit) tick();
    if (!complete()) {
        std::string open;
        for (int id = 0; id < next_snapshot_; ++id) {
            for (const auto& [server, b] : balance_) {
                if (!done_[id].contains(server)) open += fmt::format(" {}@{}", id, server);
            }
        }
        throw std::runtime_error(fmt::format("snapshots cannot complete (no marker reaches them):{}", open));
    }
}

std::vector<RecordedSnapshot> Replay::snapshots() const {
    std::vector<RecordedSnapshot> out;
    for (const auto& [id, servers] : done_) {
        RecordedSnapshot s;
        s.id = id;
        for (const auto& [server, c] : servers) {
            s.balances[server] = c.state;
            for (const auto& ch : c.channels)
                if (!ch.messages.empty()) s.in_flight[{ch.from, server}] = ch.messages;
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace ringwatch::cl
