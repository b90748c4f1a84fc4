// Views (ring/core/view.h) and how a ring member takes them: the monitor orders a configuration in
// a new epoch (ViewOrder), every member adopts it (older tokens purged, neighbours from the list),
// and only then is the epoch's one token ordered (IssueToken).
#include <catch2/catch.hpp>

#include <functional>

#include "ring/core/node.h"
#include "ring/core/node_process.h"
#include "ring/core/view.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

const Instant t0 = instant_us(1'000'000);
const std::vector<NodeId> kRing{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}};

NodeConfig member(std::uint16_t self) {
    NodeConfig c;
    c.self = NodeId{self};
    c.predecessor = kRing[(self + 3) % 4];
    c.successor = kRing[(self + 1) % 4];
    c.ring = kRing;
    c.token.hold = 1ms;
    c.initial_epoch = Epoch{1};
    return c;
}

ViewOrder view(std::uint64_t id, std::uint32_t epoch, std::vector<NodeId> members) {
    return ViewOrder{id, Epoch{epoch}, view_bitmap(kRing, members)};
}

// Everything the node said, decoded, with whom it said it to.
std::vector<std::pair<NodeId, Message>> said(Node& n) {
    NodeOutput out;
    n.take_output(out);
    std::vector<std::pair<NodeId, Message>> v;
    for (auto& m : out.messages) {
        Message msg;
        REQUIRE(decode_message(m.bytes, msg) == MessageError::none);
        v.emplace_back(m.peer, std::move(msg));
    }
    return v;
}

std::optional<bool> ack_of(const std::vector<std::pair<NodeId, Message>>& said, std::uint64_t id) {
    for (const auto& [to, m] : said)
        if (const auto* a = std::get_if<CommandAck>(&m); a && a->command_id == id && to == kMonitorId) return a->ok;
    return std::nullopt;
}

std::vector<NodeId> token_sent_to(const std::vector<std::pair<NodeId, Message>>& said) {
    std::vector<NodeId> v;
    for (const auto& [to, m] : said)
        if (std::holds_alternative<Token>(m)) v.push_back(to);
    return v;
}

Token token_of(std::uint32_t epoch) {
    Token t;
    t.epoch = Epoch{epoch};
    return t;
}

}  // namespace

TEST_CASE("views: a bitmap names configured nodes in ring order, one that does not fit the ring is no view", "[views]") {
    const Bytes b = view_bitmap(kRing, {NodeId{3}, NodeId{0}, NodeId{2}});
    CHECK(b == Bytes{0x0d});
    CHECK(view_members(kRing, b) == std::vector<NodeId>{NodeId{0}, NodeId{2}, NodeId{3}});
    CHECK_FALSE(view_members(kRing, Bytes{0x00}));        // nobody
    CHECK_FALSE(view_members(kRing, Bytes{0x10}));        // a bit past the ring's end
    CHECK_FALSE(view_members(kRing, Bytes{0x01, 0x00}));  // the wrong length
    CHECK_FALSE(view_members(kRing, Bytes{}));
    std::vector<NodeId> big;
    for (std::uint16_t i = 0; i < 4096; ++i) big.push_back(NodeId{i});
    CHECK(view_bitmap(big, big).size() == kMaxViewBitmapBytes);  // the largest ring fits one message
    CHECK(neighbours_in(std::vector<NodeId>{NodeId{0}, NodeId{2}, NodeId{3}}, NodeId{3}) == Neighbours{NodeId{2}, NodeId{0}});
    CHECK_FALSE(neighbours_in(std::vector<NodeId>{NodeId{0}, NodeId{2}}, NodeId{1}));
}

TEST_CASE("views: a member adopts a view: older tokens purged, its neighbours taken from it, no token made", "[views][node]") {
    Node n(member(1), t0);  // configured between 0 and 2
    n.on_message(t0, NodeId{0}, encode_message(token_of(1)));
    REQUIRE(n.token().held() == 1);
    said(n);
    // Node 2 evicted: node 1 now passes to 3.
    n.on_message(t0, kMonitorId, encode_message(view(7, 2, {NodeId{0}, NodeId{1}, NodeId{3}})));
    auto out = said(n);
    CHECK(ack_of(out, 7) == std::optional<bool>(true));
    CHECK(n.token().held() == 0);  // the epoch-1 token is purged
    CHECK(n.token().epoch() == Epoch{2});
    CHECK(n.view().epoch == Epoch{2});
    CHECK(n.view().neighbours == Neighbours{NodeId{0}, NodeId{3}});
    CHECK(token_sent_to(out).empty());
    // The epoch's token, ordered, goes to the new successor.
    n.on_message(t0, kMonitorId, encode_message(IssueToken{8, Epoch{2}}));
    n.on_timer(t0 + 2ms);
    out = said(n);
    CHECK(ack_of(out, 8) == std::optional<bool>(true));
    CHECK(token_sent_to(out) == std::vector<NodeId>{NodeId{3}});
    CHECK(n.token().stats().tokens_issued == 1);
    // Ordered again: made once.
    n.on_message(t0 + 3ms, kMonitorId, encode_message(IssueToken{9, Epoch{2}}));
    CHECK(ack_of(said(n), 9) == std::optional<bool>(true));
    CHECK(n.token().stats().tokens_issued == 1);
    // A token of the old epoch from the old neighbour is no input any more; one from the new
    // predecessor is passed on to the new successor.
    n.on_message(t0 + 4ms, NodeId{2}, encode_message(token_of(1)));
    CHECK(n.stats().unexpected == 1);
    n.on_message(t0 + 4ms, NodeId{0}, encode_message(token_of(2)));
    n.on_timer(t0 + 6ms);
    CHECK(token_sent_to(said(n)) == std::vector<NodeId>{NodeId{3}});
}

TEST_CASE("views: repeats, older or malformed views and rings of one are refused", "[views][node]") {
    Node n(member(1), t0);
    n.on_message(t0, kMonitorId, encode_message(view(1, 3, {NodeId{0}, NodeId{1}, NodeId{3}})));
    CHECK(ack_of(said(n), 1) == std::optional<bool>(true));
    // The same again: only a new monitor, which cannot know the ring's epoch, orders it again, and
    // the token order that follows would make a second token of the epoch.
    n.on_message(t0, kMonitorId, encode_message(view(2, 3, {NodeId{0}, NodeId{1}, NodeId{3}})));
    CHECK(ack_of(said(n), 2) == std::optional<bool>(false));
    n.on_message(t0, kMonitorId, encode_message(view(3, 3, {NodeId{0}, NodeId{1}})));  // the same epoch, other members
    CHECK(ack_of(said(n), 3) == std::optional<bool>(false));
    n.on_message(t0, kMonitorId, encode_message(view(4, 2, kRing)));  // older
    CHECK(ack_of(said(n), 4) == std::optional<bool>(false));
    n.on_message(t0, kMonitorId, encode_message(view(5, 4, {NodeId{1}})));  // a ring of one
    CHECK(ack_of(said(n), 5) == std::optional<bool>(false));
    n.on_message(t0, kMonitorId, encode_message(ViewOrder{6, Epoch{4}, Bytes{0x01, 0x02}}));  // not our ring's bitmap
    CHECK(ack_of(said(n), 6) == std::optional<bool>(false));
    CHECK(n.view().epoch == Epoch{3});
    CHECK(n.stats().views_refused == 5);
    // A view's epoch older than the node's own (a regenerate came since) is refused too.
    n.on_message(t0, kMonitorId, encode_message(RecoverCommand{7, RecoverMode::regenerate, Epoch{5}, kNoIssuer}));
    said(n);
    n.on_message(t0, kMonitorId, encode_message(view(8, 4, kRing)));
    CHECK(ack_of(said(n), 8) == std::optional<bool>(false));
    // Only the monitor orders views.
    n.on_message(t0, NodeId{0xF001}, encode_message(view(9, 6, kRing)));
    CHECK(n.view().epoch == Epoch{3});
}

TEST_CASE("views: the epoch's token is refused for another epoch and to a node left out, one left out passes nothing", "[views][node]") {
    Node n(member(2), t0);
    n.on_message(t0, NodeId{1}, encode_message(token_of(1)));
    REQUIRE(n.token().held() == 1);
    n.on_message(t0, kMonitorId, encode_message(IssueToken{1, Epoch{1}}));  // no view of epoch 1 was ordered
    CHECK(ack_of(said(n), 1) == std::optional<bool>(false));
    n.on_message(t0, kMonitorId, encode_message(view(2, 2, {NodeId{0}, NodeId{1}, NodeId{3}})));  // node 2 left out
    CHECK(ack_of(said(n), 2) == std::optional<bool>(true));
    CHECK_FALSE(n.view().neighbours);
    CHECK(n.token().held() == 0);
    n.on_message(t0, kMonitorId, encode_message(IssueToken{3, Epoch{2}}));
    CHECK(ack_of(said(n), 3) == std::optional<bool>(false));
    CHECK(n.token().stats().tokens_issued == 0);
    // Left out, it takes no part in snapshots and passes on nothing its old neighbours send.
    n.on_message(t0, kMonitorId, encode_message(SnapshotStart{SnapshotId{1}, SnapshotId{1}}));
    n.on_message(t0, NodeId{1}, encode_message(token_of(2)));
    n.on_timer(t0 + 5ms);
    const auto out = said(n);
    CHECK(token_sent_to(out).empty());
    for (const auto& [to, m] : out) CHECK_FALSE(std::holds_alternative<SnapshotReport>(m));
    // Named again by a later view, it is back between its neighbours.
    n.on_message(t0, kMonitorId, encode_message(view(4, 3, kRing)));
    CHECK(ack_of(said(n), 4) == std::optional<bool>(true));
    CHECK(n.view().neighbours == Neighbours{NodeId{1}, NodeId{3}});
}

TEST_CASE("views: a view in an epoch a token of ours already had is refused (its adoption would purge nothing)", "[views][node]") {
    // A regenerate made epoch 5 (this node issued its token) while a monitor that did not know it
    // orders a view of epoch 5: adopting it would keep the regenerate's token beside the view's own.
    Node n(member(1), t0);
    n.on_message(t0, kMonitorId, encode_message(RecoverCommand{1, RecoverMode::regenerate, Epoch{5}, NodeId{1}}));
    said(n);
    REQUIRE(n.token().held() == 1);
    n.on_message(t0, kMonitorId, encode_message(view(2, 5, kRing)));
    CHECK(ack_of(said(n), 2) == std::optional<bool>(false));
    CHECK(n.token().held() == 1);
    // A process that only knows the epoch (told it, holding nothing of it) takes such a view.
    Node m(member(2), t0);
    m.on_message(t0, kMonitorId, encode_message(RecoverCommand{3, RecoverMode::regenerate, Epoch{5}, kNoIssuer}));
    said(m);
    m.on_message(t0, kMonitorId, encode_message(view(4, 5, kRing)));
    CHECK(ack_of(said(m), 4) == std::optional<bool>(true));
    // A new process (no view taken yet) started at epoch 6 from its state directory is told the
    // ring's current view, of epoch 5 (a rollback made epoch 6 since, in that view): it takes it,
    // and refuses that view's token order (of an epoch other than its own).
    NodeConfig restarted = member(3);
    restarted.initial_epoch = Epoch{6};
    Node r(restarted, t0);
    r.on_message(t0, kMonitorId, encode_message(view(5, 5, {NodeId{0}, NodeId{2}, NodeId{3}})));
    CHECK(ack_of(said(r), 5) == std::optional<bool>(true));
    CHECK(r.view().epoch == Epoch{5});
    CHECK(r.view().neighbours == Neighbours{NodeId{2}, NodeId{0}});
    r.on_message(t0, kMonitorId, encode_message(IssueToken{6, Epoch{5}}));
    CHECK(ack_of(said(r), 6) == std::optional<bool>(false));
    CHECK(r.token().stats().tokens_issued == 0);
}

TEST_CASE("views: under leases a node passes tokens on only while its lease, counted from its request, holds", "[views][node][lease]") {
    NodeConfig c = member(1);
    c.lease_required = true;
    Node n(c, t0);
    auto requests = [](const std::vector<std::pair<NodeId, Message>>& out) {
        std::vector<LeaseRequest> r;
        for (const auto& [to, m] : out)
            if (const auto* q = std::get_if<LeaseRequest>(&m); q && to == kMonitorId) r.push_back(*q);
        return r;
    };
    // It asks at once, with its own clock's reading and its view's epoch.
    auto out = said(n);
    auto r = requests(out);
    REQUIRE(r.size() == 1);
    CHECK(r[0].stamp == to_us(t0));
    CHECK(r[0].view_epoch == Epoch{0});
    // A token arrives: held past its 1 ms hold, without a lease (counted as held by any snapshot).
    n.on_message(t0 + 1ms, NodeId{0}, encode_message(token_of(1)));
    n.on_timer(t0 + 5ms);
    out = said(n);
    CHECK(token_sent_to(out).empty());
    CHECK(n.token().held() == 1);
    CHECK(n.stats().lease_waits == 1);
    CHECK(n.next_deadline() == t0 + 100ms);  // the next ask, not the held token's release (no busy loop)
    // A grant that waited too long (its request is 3 s old) gives nothing; a grant from a tool neither.
    n.on_message(t0 + 10ms, kMonitorId, encode_message(LeaseGrant{to_us(t0 - 3s), 3000}));
    n.on_message(t0 + 10ms, NodeId{0xF001}, encode_message(LeaseGrant{to_us(t0), 3000}));
    CHECK(token_sent_to(said(n)).empty());
    // The grant of its request: the token goes on, and the lease holds 3 s from the request.
    n.on_message(t0 + 11ms, kMonitorId, encode_message(LeaseGrant{r[0].stamp, 3000}));
    CHECK(token_sent_to(said(n)) == std::vector<NodeId>{NodeId{2}});
    CHECK(n.lease_until() == t0 + 3s);
    // Asked again each quarter of the lease while it holds.
    n.on_timer(t0 + 100ms);
    r = requests(said(n));
    REQUIRE(r.size() == 1);
    CHECK(n.next_deadline() == t0 + 100ms + 750ms);
    // Never answered (the monitor is cut off): past the lease, the next token is held.
    n.on_message(t0 + 3s, NodeId{0}, encode_message(token_of(1)));
    n.on_timer(t0 + 3s + 5ms);
    CHECK(token_sent_to(said(n)).empty());
    CHECK(n.token().held() == 1);
    CHECK(n.stats().lease_waits == 2);
    // A node that needs no lease (views off) passes on as before.
    Node free_node(member(1), t0);
    free_node.on_message(t0, NodeId{0}, encode_message(token_of(1)));
    free_node.on_timer(t0 + 5ms);
    const auto free_out = said(free_node);
    CHECK(token_sent_to(free_out) == std::vector<NodeId>{NodeId{2}});
    CHECK(requests(free_out).empty());
}

namespace {
// Twenty 1 ms rounds between a node's process and a monitor's endpoint (what the monitor sent is
// delivered, the process stepped, its datagrams for the monitor handed back), each step's Ready shown
// to `seen`, until it says stop.
void exchange(NodeProcess& p, Endpoint& monitor, const std::function<bool(const NodeReady&)>& seen) {
    Instant now = t0;
    for (int round = 0; round < 20; ++round) {
        now += 1ms;
        monitor.flush(now);
        EndpointOutput out;
        monitor.take_output(out);
        for (auto& d : out.datagrams) p.on_datagram(now, d.bytes);
        p.on_timer(now);
        const NodeReady r = p.step(now);
        for (const auto& d : r.datagrams)
            if (d.peer == kMonitorId) monitor.on_datagram(now, d.bytes);
        if (seen(r)) return;
    }
}
}  // namespace

TEST_CASE("views: the member's process opens a link to a new neighbour before the token goes to it", "[views][process]") {
    NodeConfig c = member(1);
    c.incarnation = Incarnation{0x11};
    NodeProcess p(NodeProcessConfig{c, LinkConfig{}, 4}, Node(c, t0), t0);
    // Its neighbours' links, and the ones two places away on either side (node 3 in a ring of 4):
    // open before a view makes them neighbours.
    CHECK(p.endpoint().has_peer(NodeId{0}));
    CHECK(p.endpoint().has_peer(NodeId{2}));
    CHECK(p.endpoint().has_peer(NodeId{3}));
    Endpoint monitor(LinkConfig{}, kMonitorId, Incarnation{0x99});
    monitor.add_peer(NodeId{1}, t0);
    REQUIRE(monitor.send(NodeId{1}, encode_message(view(1, 2, {NodeId{0}, NodeId{1}, NodeId{3}}))));
    REQUIRE(monitor.send(NodeId{1}, encode_message(IssueToken{2, Epoch{2}})));
    std::vector<NodeId> datagrams_to;
    exchange(p, monitor, [&](const NodeReady& r) {
        for (const auto& d : r.datagrams) datagrams_to.push_back(d.peer);
        return false;
    });
    CHECK(p.endpoint().has_peer(NodeId{3}));
    CHECK(std::find(datagrams_to.begin(), datagrams_to.end(), NodeId{3}) != datagrams_to.end());  // the token's (and the hello's)
    CHECK(std::find(datagrams_to.begin(), datagrams_to.end(), NodeId{2}) != datagrams_to.end());  // the old successor: its link stays
    const StatusReply s = p.status(t0, 1);
    auto value = [&](const std::string& name) {
        for (const auto& [k, v] : s.values)
            if (k == name) return v;
        return std::int64_t{-100};
    };
    CHECK(value("view_epoch") == 2);
    CHECK(value("view_members") == 3);
    CHECK(value("succ_peer") == 3);
    // No sentinels: the monitor by its place in the config's list, an RTT not measured yet absent.
    CHECK(value("mon_index") == 0);
    CHECK(value("mon_peer") == -100);
    CHECK(value("pred_rtt_us") == -100);
}

TEST_CASE("views: a process keeps sessions two places away on either side, and no further", "[views][process]") {
    const std::vector<NodeId> six{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}, NodeId{5}};
    NodeConfig c;
    c.self = NodeId{1};
    c.predecessor = NodeId{0};
    c.successor = NodeId{2};
    c.ring = six;
    c.token.hold = 1ms;
    c.incarnation = Incarnation{0x11};
    NodeProcess p(NodeProcessConfig{c, LinkConfig{}, 4}, Node(c, t0), t0);
    for (NodeId n : {NodeId{0}, NodeId{2}, NodeId{3}, NodeId{5}}) CHECK(p.endpoint().has_peer(n));
    CHECK_FALSE(p.endpoint().has_peer(NodeId{4}));
    // Node 2 left out: node 3 is the successor now, and node 4 two places away.
    Endpoint monitor(LinkConfig{}, kMonitorId, Incarnation{0x99});
    monitor.add_peer(NodeId{1}, t0);
    REQUIRE(
        monitor.send(NodeId{1}, encode_message(ViewOrder{1, Epoch{2}, view_bitmap(six, {NodeId{0}, NodeId{1}, NodeId{3}, NodeId{4}, NodeId{5}})})));
    std::optional<NodeView> taken;
    exchange(p, monitor, [&](const NodeReady& r) {
        if (r.view) taken = r.view;
        return taken.has_value();
    });
    REQUIRE(taken);
    CHECK(taken->neighbours == Neighbours{NodeId{0}, NodeId{3}});
    CHECK(p.endpoint().has_peer(NodeId{4}));
}

TEST_CASE("process: a token goes on before the acknowledgement of its arrival (an ack sent first would delay it)", "[process]") {
    NodeConfig c = member(1);
    c.token.hold = 0ms;  // passed on in the step that takes it in
    c.incarnation = Incarnation{0x11};
    NodeProcess p(NodeProcessConfig{c, LinkConfig{}, 4}, Node(c, t0), t0);
    Endpoint pred(LinkConfig{}, NodeId{0}, Incarnation{0x42});
    Endpoint succ(LinkConfig{}, NodeId{2}, Incarnation{0x43});
    pred.add_peer(NodeId{1}, t0);
    succ.add_peer(NodeId{1}, t0);
    Instant now = t0;
    auto round = [&] {
        now += 1ms;
        for (Endpoint* e : {&pred, &succ}) {
            e->flush(now);
            EndpointOutput out;
            e->take_output(out);
            for (auto& d : out.datagrams) p.on_datagram(now, d.bytes);
        }
        p.on_timer(now);
        NodeReady r = p.step(now);
        for (const auto& d : r.datagrams) {
            if (d.peer == NodeId{0}) pred.on_datagram(now, d.bytes);
            if (d.peer == NodeId{2}) succ.on_datagram(now, d.bytes);
        }
        return r;
    };
    for (int i = 0; i < 5; ++i) round();  // sessions first (hellos both ways)
    REQUIRE(pred.send(NodeId{1}, encode_message(token_of(1))));
    const NodeReady r = round();
    std::vector<std::pair<NodeId, bool>> sent;  // to whom, and whether it was a pure ack
    for (const auto& d : r.datagrams) sent.emplace_back(d.peer, wire::may_wait(d.bytes));
    const std::vector<std::pair<NodeId, bool>> expected{{NodeId{2}, false}, {NodeId{0}, true}};
    CHECK(sent == expected);
}
