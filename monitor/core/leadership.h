// Which monitor acts, sans I/O. Every configured monitor takes snapshots and judges them; one, the
// leader, acts (recovery, views, token births, keep orders, leases), in a term (ring/core/term.h)
// a majority of the configured nodes has promised it. A monitor claims a term only when every
// monitor before it in the configured list is down and no leader has been heard of for
// leader_timeout (its hellos, or a node's answer naming it); a claim is a
// TermClaim of round 0 to every node, won by a majority of promises, lost to any answer naming a
// later term. A leader steps down as soon as it hears of a later term (a node's refusal or lease
// request, another monitor's hello): the nodes that promised it obey none of its orders anyway.
//
// A leader cut off from the majority learns of a later term only when it hears from the other
// side. So what it grants that lets a node act on its own (a lease) waits for a confirmation: a
// round (TermClaim round > 0) begun after the request, to which a majority answered that our term
// is still the one they promised. Once a majority promised a later term, no such round can
// succeed (the two majorities share a node), so every lease a deposed leader granted was asked for
// before the new leader won: the new leader waits one lease from its win, and is safe.
//
// Caller's contract (MonitorCore): on_promise() for every TermPromise a node sends this monitor;
// on_hello() for every MonitorHello from another monitor; heard_term() for the term a node's lease
// request names; monitor_down() for the liveness of the other monitors; on_timer()
// once next_deadline() has passed. After each call send take_orders() (claims to nodes, hellos to
// monitors) and publish take_events().
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "ring/core/messages.h"

namespace ringwatch {

struct LeadershipConfig {
    NodeId self = kMonitorId;
    std::vector<NodeId> monitors{kMonitorId};  // configured, in order (self among them)
    std::vector<NodeId> ring;                  // configured nodes: a majority of them makes a leader
    // No leader heard of this long: the first monitor that is up claims a term. The monitors'
    // node_timeout: a leader paused this long is as good as down.
    Duration leader_timeout{std::chrono::seconds(1)};
    // A claim with no majority of promises by then (nodes down or cut off, or links still
    // forming at start under load) is made again, in the next term.
    Duration claim_timeout{std::chrono::seconds(2)};
    Duration hello_every{std::chrono::milliseconds(100)};
};

enum class LeaderEventKind : std::uint8_t { claimed, leading, claim_failed, stepped_down };
std::string_view to_string(LeaderEventKind k);
struct LeaderEvent {
    LeaderEventKind kind = LeaderEventKind::claimed;
    Instant at;
    Term term{0};
    std::uint32_t promises = 0;  // leading: how many nodes promised
    Term later{0};               // stepped_down / claim_failed: the later term heard of (0: none, the claim timed out)
    NodeId by{0};                // stepped_down: who told it (a node, or a monitor's hello)
};

class Leadership {
public:
    Leadership(LeadershipConfig config, Instant now);

    void on_promise(Instant now, NodeId from, const TermPromise& p);
    void on_hello(Instant now, NodeId from, const MonitorHello& h);
    // A node's lease request or refusal names the term it promised: a later one deposes us.
    void heard_term(Instant now, NodeId from, Term term);
    void monitor_down(NodeId m, bool down);
    // The leader has made every epoch its term allows (term.h): it claims the next term at once.
    void claim_next(Instant now);
    // Confirmation rounds (leading only). Something arrived that needs our term confirmed by a
    // round begun after it: the round that must confirm it (begun now, or next if one is under way).
    std::uint64_t confirm_after(Instant now);
    // The newest round a majority confirmed in this term (0: none).
    std::uint64_t confirmed() const { return confirmed_; }
    // What this monitor's hellos say of the ring while it leads (MonitorHello).
    void set_view(Epoch view_epoch, Bytes members, Epoch born) {
        view_epoch_ = view_epoch;
        members_ = std::move(members);
        born_ = born;
    }
    void on_timer(Instant now);
    // This monitor did not run for `stall`: a leader's silence over it is not the leader's.
    void excuse(Duration stall);
    std::optional<Instant> next_deadline() const;

    bool leading() const { return leading_; }
    // The term this monitor leads, or the newest it knows of.
    Term term() const { return term_; }
    // The monitor that leads the newest term known (self when leading), if known.
    std::optional<NodeId> leader() const { return leader_; }
    // The newest epoch the promises told: a new leader's epochs are above it.
    Epoch floor() const { return floor_; }
    std::size_t majority() const { return config_.ring.size() / 2 + 1; }

    std::vector<std::pair<NodeId, Message>> take_orders() { return std::exchange(orders_, {}); }
    std::vector<LeaderEvent> take_events() { return std::exchange(events_, {}); }

private:
    struct Claim {
        Term term;
        Instant at;
        std::set<NodeId> promised;
    };
    std::optional<Instant> claim_at() const;
    void claim(Instant now);
    void step_down(Instant now, Term later, NodeId by);
    void learn(Term t, std::optional<NodeId> leader, Instant now);
    void hello(Instant now);
    bool in_ring(NodeId n) const;
    void start_round(Instant now);
    void end_rounds();  // leadership lost or changed: rounds under way count for nothing

    LeadershipConfig config_;
    Term term_{0};
    bool leading_ = false;
    std::optional<NodeId> leader_;
    std::optional<Instant> leader_heard_;  // the last sign of a live leader (not self)
    std::optional<Claim> claim_;
    Instant next_claim_{};
    Duration claim_backoff_ = config_.claim_timeout;                      // doubled by each claim that times out
    static constexpr Duration kMaxClaimBackoff{std::chrono::seconds(8)};  // a claim at least every 8 s while none wins
    Instant next_hello_{};
    Epoch floor_{0};
    Epoch view_epoch_{0};
    Bytes members_;
    Epoch born_{0};
    std::set<NodeId> down_;  // other monitors known down
    // Confirmation rounds of the term we lead: the newest started, the newest a majority
    // confirmed, the newest some request waits for, and the answers to those still open (a few:
    // one that is slow may still end before the next).
    std::uint64_t round_ = 0;
    std::uint64_t confirmed_ = 0;
    std::uint64_t wanted_ = 0;
    Instant round_at_{};
    std::map<std::uint64_t, std::set<NodeId>> confirming_;
    static constexpr std::size_t kRoundsOpen = 4;
    // A round with no majority by then is followed by the next one if some request waits.
    static constexpr Duration kRoundRetry{std::chrono::milliseconds(250)};
    std::vector<std::pair<NodeId, Message>> orders_;
    std::vector<LeaderEvent> events_;
};

}  // namespace ringwatch
