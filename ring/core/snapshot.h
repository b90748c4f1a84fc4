// A Chandy-Lamport snapshot participant for a process with any number of inbound and outbound FIFO
// channels, generic over the local state, the message type and the channel id. Pure: no I/O, no clock.
//
// Caller's contract:
//   - start(id, state) when asked to initiate; on_marker(id, from, state) for every marker received;
//     on_message(from, msg) for every application message received on an inbound channel (after the
//     markers that preceded it on that channel, in arrival order).
//   - After each call, send the markers from take_markers() on their outbound channels *before* any
//     message sent after the call: the markers must follow exactly what was sent before the state
//     was recorded (FIFO channels then make the cut consistent).
//   - take_completed() hands over each snapshot once every inbound channel has brought its marker:
//     the state recorded, and per inbound channel the messages recorded in flight, in arrival order.
//
// Several snapshots may be in flight, keyed by id, and any number of initiators may start the same
// id. Markers for ids already completed (or forgotten) are counted and ignored. The number in flight
// is bounded: starting one more abandons the oldest (counted), so a silent neighbour cannot make a
// participant record forever.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ring/core/check.h"
#include "ring/core/types.h"

namespace ringwatch {

struct SnapshotStats {
    std::uint64_t started_locally = 0;  // by start()
    std::uint64_t started_by_marker = 0;
    std::uint64_t completed = 0;
    std::uint64_t abandoned = 0;          // evicted by the in-flight bound, or by abandon_before()
    std::uint64_t stale_markers = 0;      // for ids completed, abandoned or forgotten
    std::uint64_t duplicate_markers = 0;  // a second marker on one channel for one id
    std::uint64_t unknown_channel = 0;    // marker or message on a channel that is not inbound
    std::uint64_t duplicate_starts = 0;   // start() for an id already recording (another initiator)
};

struct SnapshotLimits {
    std::size_t max_in_flight = 16;
    std::size_t remembered_finished = 4096;  // ids remembered as finished per era, to recognise late markers
    std::size_t remembered_eras = 64;        // monitor processes (eras) whose finished ids are remembered
};

template <typename State, typename Message, typename Channel = NodeId>
class SnapshotParticipant {
public:
    struct Marker {
        Channel to;
        SnapshotId id;
    };
    struct ChannelRecord {
        Channel from;
        std::vector<Message> messages;
    };
    struct Completed {
        SnapshotId id;
        State state;
        std::vector<ChannelRecord> channels;  // one per inbound channel, in constructor order
    };

    SnapshotParticipant(std::vector<Channel> inbound, std::vector<Channel> outbound, SnapshotLimits limits = {})
        : inbound_(std::move(inbound)), outbound_(std::move(outbound)), limits_(limits) {
        RW_ASSERT(limits_.max_in_flight >= 1);  // begin() makes room by abandoning the oldest
    }

    // Returns false (and does nothing) when this id is already recording or finished.
    bool start(SnapshotId id, const State& state) {
        if (finished(id)) return false;
        if (active_.contains(id)) {
            ++stats_.duplicate_starts;
            return false;
        }
        ++stats_.started_locally;
        begin(id, state, nullptr);
        return true;
    }

    void on_marker(SnapshotId id, const Channel& from, const State& state) {
        const auto in = inbound_index(from);
        if (!in) {
            ++stats_.unknown_channel;
            return;
        }
        if (finished(id)) {
            ++stats_.stale_markers;
            return;
        }
        auto it = active_.find(id);
        if (it == active_.end()) {
            ++stats_.started_by_marker;
            begin(id, state, &from);  // the channel the first marker came on is recorded empty
            return;
        }
        Recording& r = it->second;
        if (r.closed[*in]) {
            ++stats_.duplicate_markers;
            return;
        }
        r.closed[*in] = true;
        ++r.closed_count;
        RW_ASSERT(r.closed_count <= inbound_.size());
        maybe_complete(id);
    }

    void on_message(const Channel& from, const Message& m) {
        const auto in = inbound_index(from);
        if (!in) {
            ++stats_.unknown_channel;
            return;
        }
        for (auto& [id, r] : active_)
            if (!r.closed[*in]) r.channels[*in].messages.push_back(m);
    }

    // Drops every snapshot in flight with an id below `id` (the monitor has given up on them).
    void abandon_before(SnapshotId id) {
        abandon_if([id](SnapshotId x) { return x < id; });
    }
    // Drops every snapshot in flight whose id `drop` names (a monitor gave up on them, or is gone).
    template <typename Pred>
    void abandon_if(Pred drop) {
        for (auto it = active_.begin(); it != active_.end();) {
            if (!drop(it->first)) {
                ++it;
                continue;
            }
            remember_finished(it->first);
            ++stats_.abandoned;
            it = active_.erase(it);
        }
    }

    // The process's neighbours changed (a new view): the snapshots under way are dropped (their cut
    // would mix two rings) and every id seen stays seen, so a late marker of one cannot begin it
    // again on the new channels.
    void reconnect(std::vector<Channel> inbound, std::vector<Channel> outbound) {
        for (const auto& [id, r] : active_) remember_finished(id);
        stats_.abandoned += active_.size();
        active_.clear();
        markers_.clear();
        inbound_ = std::move(inbound);
        outbound_ = std::move(outbound);
    }

    std::vector<Marker> take_markers() { return std::exchange(markers_, {}); }
    std::vector<Completed> take_completed() { return std::exchange(completed_, {}); }

    bool recording(SnapshotId id) const { return active_.contains(id); }
    bool finished(SnapshotId id) const {
        const auto era = eras_.find(snapshot_era(id));
        return era != eras_.end() && (id < era->second.forgotten_below || era->second.finished.contains(id));
    }
    std::size_t in_flight() const { return active_.size(); }
    const SnapshotStats& stats() const { return stats_; }
    const std::vector<Channel>& inbound() const { return inbound_; }
    const std::vector<Channel>& outbound() const { return outbound_; }

private:
    struct Recording {
        State state;
        std::vector<ChannelRecord> channels;
        std::vector<bool> closed;
        std::size_t closed_count = 0;
    };

    std::optional<std::size_t> inbound_index(const Channel& c) const {
        auto it = std::find(inbound_.begin(), inbound_.end(), c);
        if (it == inbound_.end()) return std::nullopt;
        return static_cast<std::size_t>(it - inbound_.begin());
    }

    void begin(SnapshotId id, const State& state, const Channel* marker_from) {
        if (active_.size() >= limits_.max_in_flight) {
            remember_finished(active_.begin()->first);
            active_.erase(active_.begin());
            ++stats_.abandoned;
        }
        Recording r{state, {}, std::vector<bool>(inbound_.size(), false), 0};
        r.channels.reserve(inbound_.size());
        for (const Channel& c : inbound_) r.channels.push_back(ChannelRecord{c, {}});
        if (marker_from) {
            const auto in = inbound_index(*marker_from);
            RW_ASSERT(in.has_value());  // on_marker checked the channel
            r.closed[*in] = true;
            r.closed_count = 1;
        }
        active_.emplace(id, std::move(r));
        RW_ASSERT(active_.size() <= limits_.max_in_flight);
        for (const Channel& c : outbound_) markers_.push_back(Marker{c, id});
        maybe_complete(id);
    }

    void maybe_complete(SnapshotId id) {
        auto it = active_.find(id);
        RW_ASSERT(it != active_.end());
        if (it->second.closed_count < inbound_.size()) return;
        completed_.push_back(Completed{id, std::move(it->second.state), std::move(it->second.channels)});
        active_.erase(it);
        remember_finished(id);
        ++stats_.completed;
    }

    // Ids are remembered per era (each monitor process numbers its own from 1): one monitor's ids
    // running ahead must not make another's count as finished.
    void remember_finished(SnapshotId id) {
        auto [at, fresh] = eras_.try_emplace(snapshot_era(id));
        at->second.touched = ++touches_;
        if (fresh && eras_.size() > limits_.remembered_eras) {
            // The era not heard of longest is a monitor process long gone: forget it whole.
            const auto stalest =
                std::min_element(eras_.begin(), eras_.end(), [](const auto& a, const auto& b) { return a.second.touched < b.second.touched; });
            eras_.erase(stalest);
        }
        Finished& f = at->second;
        f.finished.insert(id);
        while (f.finished.size() > limits_.remembered_finished) {
            // Forget the oldest; anything at or below it now counts as finished for good.
            f.forgotten_below = std::max(f.forgotten_below, SnapshotId{f.finished.begin()->value + 1});
            f.finished.erase(f.finished.begin());
        }
    }

    std::vector<Channel> inbound_;
    std::vector<Channel> outbound_;
    SnapshotLimits limits_;
    std::map<SnapshotId, Recording> active_;
    struct Finished {
        std::set<SnapshotId> finished;
        SnapshotId forgotten_below{0};
        std::uint64_t touched = 0;
    };
    std::map<std::uint32_t, Finished> eras_;
    std::uint64_t touches_ = 0;
    std::vector<Marker> markers_;
    std::vector<Completed> completed_;
    SnapshotStats stats_;
};

}  // namespace ringwatch
