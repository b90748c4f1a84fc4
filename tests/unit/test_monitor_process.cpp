// The monitor's process (monitor/core/monitor_process.h) against real link ends: two nodes and a
// tool, whose datagrams the test carries. What the process decides beside the core: which peer
// may ask what, acknowledgements awaited and given up, verdicts grouped with their incidents.
#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include "monitor/core/monitor_process.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

constexpr NodeId kTool{0xF001};

struct World {
    Instant now = instant_us(1'000'000);
    MonitorProcess process;
    std::map<NodeId, std::unique_ptr<Endpoint>> peers;  // node 0, node 1, the tool
    std::map<NodeId, std::vector<Message>> got;         // what each peer's link delivered, decoded
    MonitorReady ready;                                 // everything the steps produced but datagrams

    static MonitorProcessConfig config(RecoveryMode recover, std::size_t max_awaited) {
        MonitorConfig m;
        m.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
        m.ring = {NodeId{0}, NodeId{1}};
        m.recover = recover;
        return MonitorProcessConfig{.monitor = m, .link = LinkConfig{}, .incarnation = Incarnation{0x10}, .max_awaited = max_awaited};
    }
    explicit World(RecoveryMode recover = RecoveryMode::off, std::size_t max_awaited = 64)
        : process(config(recover, max_awaited), MonitorCore(config(recover, max_awaited).monitor, now), now) {
        for (NodeId n : {NodeId{0}, NodeId{1}, kTool}) {
            peers[n] = std::make_unique<Endpoint>(LinkConfig{}, n, Incarnation{0x100u + n.value});
            peers[n]->add_peer(kMonitorId, now);
        }
        settle();
        // The nodes promise the monitor the term it claims: it leads.
        for (NodeId n : {NodeId{0}, NodeId{1}})
            for (const TermClaim& c : received<TermClaim>(n)) send(n, TermPromise{c.term, c.round, true, c.term, kMonitorId, Epoch{0}});
        settle();
        REQUIRE(process.core().leading());
    }
    void send(NodeId from, const Message& m) { REQUIRE(peers.at(from)->send(kMonitorId, encode_message(m))); }
    void send_bytes(NodeId from, const Bytes& b) { REQUIRE(peers.at(from)->send(kMonitorId, b)); }
    // Carries datagrams both ways until nothing moves, a millisecond per round.
    void settle() {
        for (int round = 0; round < 200; ++round) {
            now += 1ms;
            bool moved = false;
            MonitorReady r = process.step(now);
            for (auto& d : r.datagrams) {
                if (auto it = peers.find(d.peer); it != peers.end()) it->second->on_datagram(now, d.bytes);  // a gone tool's: lost
                moved = true;
            }
            keep(r);
            for (auto& [id, e] : peers) {
                e->flush(now);
                EndpointOutput out;
                e->take_output(out);
                for (auto& d : out.datagrams) {
                    process.on_datagram(now, d.bytes);
                    if (auto reply = process.take_reply()) e->on_datagram(now, *reply);  // a tool's challenge
                    moved = true;
                }
                for (auto& m : out.delivered) {
                    Message msg;
                    REQUIRE(decode_message(m.bytes, msg) == MessageError::none);
                    got[id].push_back(std::move(msg));
                    moved = true;
                }
            }
            if (!moved && !process.pending()) return;
        }
        FAIL("the world did not settle");
    }
    void keep(MonitorReady& r) {
        for (auto& x : r.answers) ready.answers.push_back(x);
        for (auto& x : r.requests) ready.requests.push_back(x);
        for (auto& x : r.figures) ready.figures.push_back(x);
        for (auto& x : r.verdicts) ready.verdicts.push_back(x);
        for (auto& x : r.other_incidents) ready.other_incidents.push_back(x);
        for (auto& x : r.tools_gone) ready.tools_gone.push_back(x);
    }
    template <typename T>
    std::vector<T> received(NodeId peer) const {
        std::vector<T> out;
        if (auto it = got.find(peer); it != got.end())
            for (const auto& m : it->second)
                if (const auto* x = std::get_if<T>(&m)) out.push_back(*x);
        return out;
    }
    // A snapshot started by the process, answered by both nodes: node 0 holds `held` tokens.
    SnapshotId snapshot(std::size_t held) {
        now += 100ms;
        process.on_timer(now);
        settle();
        const auto starts = received<SnapshotStart>(NodeId{0});
        REQUIRE(!starts.empty());
        const SnapshotId id = starts.back().id;
        for (std::uint16_t n : {0, 1}) {
            SnapshotReport r;
            r.id = id;
            r.node = NodeId{n};
            r.incarnation = Incarnation{0x100u + n};
            r.state.held.resize(n == 0 ? held : 0);
            r.state.held_count = static_cast<std::uint32_t>(n == 0 ? held : 0);
            r.state.had_token = true;
            r.state.epoch = Epoch{1};
            r.channel_from = NodeId{static_cast<std::uint16_t>(1 - n)};
            send(NodeId{n}, r);
        }
        settle();
        return id;
    }
};

}  // namespace

TEST_CASE("monitor process: a command's acknowledgement comes back by id, one never answered is given up beyond the bound", "[monitor][process]") {
    World w(RecoveryMode::off, 2);
    const std::uint64_t lose = w.process.inject(NodeId{1}, InjectKind::lose);
    w.settle();
    const auto injects = w.received<InjectCommand>(NodeId{1});
    REQUIRE(injects.size() == 1);
    CHECK(injects[0].command_id == lose);
    w.send(NodeId{1}, CommandAck{lose, true});
    w.send(NodeId{1}, CommandAck{lose, true});         // twice: answered once
    w.send(NodeId{0}, CommandAck{lose + 1000, true});  // never given: nobody is told
    w.settle();
    REQUIRE(w.ready.answers.size() == 1);
    CHECK(w.ready.answers[0].id == lose);
    CHECK(w.ready.answers[0].ok == std::optional<bool>(true));
    // Three commands no node answers, two awaited at most: the oldest is given up, said once.
    const std::uint64_t a = w.process.send_message(NodeId{0}, NodeId{1}, Bytes{'h', 'i'});
    w.process.inject(NodeId{0}, InjectKind::duplicate);
    w.process.inject(NodeId{0}, InjectKind::duplicate);
    w.settle();
    REQUIRE(w.ready.answers.size() == 2);
    CHECK(w.ready.answers[1].id == a);
    CHECK_FALSE(w.ready.answers[1].ok);
    w.send(NodeId{0}, CommandAck{a, true});  // too late: already given up
    w.settle();
    CHECK(w.ready.answers.size() == 2);
}

TEST_CASE("monitor process: a tool may ask for a recovery, a status or a rekey step, a node may not, and a tool reports nothing",
          "[monitor][process]") {
    World w(RecoveryMode::off);
    w.send(kTool, RecoverRequest{7, RecoverMode::regenerate});
    w.send(kTool, StatusQuery{8});
    w.send(kTool, RekeyCommand{9, RekeyStep::prepare, 0, "/nonexistent"});
    w.settle();
    // No snapshot was judged ok yet: the regenerate is ordered all the same (a token for epoch 1).
    const auto acks = w.received<CommandAck>(kTool);
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].command_id == 7);
    CHECK(w.received<RecoverCommand>(NodeId{0}).size() == std::size_t{acks[0].ok ? 1u : 0u});
    REQUIRE(w.ready.requests.size() == 2);
    CHECK(w.ready.requests[0].from == kTool);
    CHECK(std::holds_alternative<StatusQuery>(w.ready.requests[0].what));
    CHECK(std::holds_alternative<RekeyCommand>(w.ready.requests[1].what));
    w.process.answer(kTool, w.process.status(8));
    w.settle();
    REQUIRE(w.received<StatusReply>(kTool).size() == 1);
    CHECK(w.received<StatusReply>(kTool)[0].values.at(0).first == "incarnation");

    const std::uint64_t refused_before = w.process.stats().refused;
    const std::uint64_t orders_before = w.received<RecoverCommand>(NodeId{1}).size();
    w.send(NodeId{0}, RecoverRequest{10, RecoverMode::regenerate});  // a node: not obeyed, not answered
    w.send(NodeId{0}, StatusQuery{11});
    SnapshotReport from_tool;
    from_tool.id = SnapshotId{1};
    from_tool.node = NodeId{0};
    w.send(kTool, from_tool);
    w.send_bytes(NodeId{1}, Bytes{0xEE, 1, 2});  // not a message
    w.settle();
    CHECK(w.process.stats().refused == refused_before + 3);
    CHECK(w.process.stats().undecodable == 1);
    CHECK(w.received<RecoverCommand>(NodeId{1}).size() == orders_before);
    CHECK(w.received<CommandAck>(NodeId{0}).empty());
    CHECK(w.ready.requests.size() == 2);
    CHECK(w.process.core().stats().unexpected_reports == 0);  // the tool's report never reached the core
}

TEST_CASE("monitor process: node figures come back to the metrics, verdicts carry the incidents they caused", "[monitor][process]") {
    World w;
    w.process.poll_status();
    w.settle();
    REQUIRE(w.received<StatusQuery>(NodeId{0}).size() == 1);
    REQUIRE(w.received<StatusQuery>(NodeId{1}).size() == 1);
    w.send(NodeId{1}, StatusReply{0, {{"tokens_passed", 5}}});
    w.send(kTool, StatusReply{0, {{"tokens_passed", 6}}});  // a tool's figures are nobody's
    w.settle();
    REQUIRE(w.ready.figures.size() == 1);
    CHECK(w.ready.figures[0].first == NodeId{1});

    w.snapshot(1);
    REQUIRE(w.ready.verdicts.size() == 1);
    CHECK(w.ready.verdicts[0].verdict.kind == VerdictKind::ok);
    CHECK(w.ready.verdicts[0].incidents.empty());
    const SnapshotId lost = w.snapshot(0);
    REQUIRE(w.ready.verdicts.size() == 2);
    CHECK(w.ready.verdicts[1].verdict.kind == VerdictKind::token_lost);
    REQUIRE(w.ready.verdicts[1].incidents.size() == 1);
    CHECK(w.ready.verdicts[1].incidents[0].kind == IncidentEventKind::alarm);
    CHECK(w.ready.verdicts[1].incidents[0].verdict.id == lost);
    CHECK(w.ready.other_incidents.empty());
    // A recovery by hand is no verdict's doing: its event comes apart.
    CHECK(w.process.recover(w.now, RecoverMode::regenerate));
    w.settle();
    REQUIRE(w.ready.other_incidents.size() == 1);
    CHECK(w.ready.other_incidents[0].kind == IncidentEventKind::recovery);
}

// A tool's link is the process's business (its events never reach the core's node tables): the
// tool is sent no order meant for nodes, and when it falls silent its address is let go.
TEST_CASE("monitor process: a tool's session is no node: it is told nothing a node is told", "[monitor][process]") {
    World w(RecoveryMode::rollback);
    w.snapshot(1);
    REQUIRE(w.ready.verdicts.size() == 1);
    REQUIRE(w.ready.verdicts[0].verdict.kind == VerdictKind::ok);
    CHECK_FALSE(w.received<KeepSnapshot>(NodeId{0}).empty());  // the nodes are told what to keep
    w.send(kTool, StatusQuery{1});
    w.settle();
    CHECK(w.received<KeepSnapshot>(kTool).empty());
    CHECK(w.ready.requests.size() == 1);
    // Gone (a tool exits), then silent: the process lets it go and tells the runtime to forget it.
    w.peers.erase(kTool);
    w.now += LinkConfig{}.silent_after;
    w.settle();
    CHECK(w.ready.tools_gone == std::vector<NodeId>{kTool});
}
