// An attacker on the ring's network, for the end-to-end security scenarios.
//
//   hostile relay LISTEN_PORT TARGET_PORT CAPTURE
//       A man in the middle on 127.0.0.1: forwards every datagram that arrives at LISTEN_PORT to
//       TARGET_PORT (from a socket of its own) and appends it to CAPTURE; answers that come back
//       go to the latest sender. Runs until SIGTERM or SIGINT.
//   hostile replay CAPTURE PORT
//       Sends every captured datagram again, in order, from a fresh socket. Prints "replayed N".
//   hostile storm CONFIG PORT COUNT CAPTURE...
//       Sends PORT thousands of hostile datagrams from foreign sockets: random bytes, empty,
//       truncated and oversized ones, frames with commands under a wrong key, bit-flipped and
//       verbatim replays of the captures. Prints what the receiver must make of them, one line:
//       "expect sent=N authentic=A empty=E <decode reason>=n ..." where authentic datagrams carry a
//       valid MAC of the ring's key (replays: the receiver must drop or merely answer them) and
//       every other one must be dropped by the decoder for exactly the reason named.
//
//   hostile hold CONFIG SESSIONS
//       Takes SESSIONS tool slots on every node of CONFIG (under its key) and keeps them: each
//       session asks the node's status once, then stays alive on its link's keep-alives. Prints
//       "held N" once every session was answered (or "unanswered: node X" and exits 1), then
//       runs until SIGTERM or SIGINT. Makes "every slot taken" a state a test can wait for. Its
//       ids are fixed (tool ids 0..SESSIONS-1 of the range); a tool that draws one of them takes
//       that session over (a later process under an id wins), so a session whose node falls silent
//       is opened again by a new process of the holder's.
//
// Sending is paced (a few datagrams per millisecond) so that the receiver's socket buffer does not
// overflow while the receiver runs; one starved of CPU may still drop some, which the kernel counts
// per socket (the e2e script reads those counts and allows for them). The storm's seed is printed
// on stderr, so that what it sent can be sent again.
#include <uv.h>

#include <fmt/format.h>
#include <csignal>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "ring/config/ring_config.h"
#include "ring/core/messages.h"
#include "ring/core/wire.h"
#include "ring/io/address.h"
#include "ring/io/clock.h"
#include "ring/io/tool_client.h"
#include "ring/io/udp_socket.h"
#include "ring/io/uv_handle.h"

using namespace ringwatch;

namespace {

using Datagram = std::vector<std::uint8_t>;

sockaddr_storage loopback(const std::string& port) {
    auto a = io::parse_address("127.0.0.1:" + port);
    if (!a) throw std::runtime_error("bad port " + port);
    return *a;
}

// Runs the loop until SIGTERM or SIGINT.
void run_until_stopped(uv_loop_t* loop) {
    io::UvHandle<uv_signal_t> sigterm(loop, uv_signal_init), sigint(loop, uv_signal_init);
    auto stop = [](uv_signal_t* s, int) { uv_stop(s->loop); };
    uv_signal_start(sigterm.get(), stop, SIGTERM);
    uv_signal_start(sigint.get(), stop, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
}

std::vector<Datagram> read_capture(const std::string& path) {
    std::vector<Datagram> out;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error("cannot read " + path);
    for (;;) {
        std::uint8_t len[2];
        if (std::fread(len, 1, 2, f) != 2) break;
        Datagram d(static_cast<std::size_t>(len[0] << 8 | len[1]));
        if (std::fread(d.data(), 1, d.size(), f) != d.size()) break;  // a record cut short by a kill
        out.push_back(std::move(d));
    }
    std::fclose(f);
    return out;
}

// Sends queued datagrams a few per millisecond, each from the socket it names; stops the loop when done.
class PacedSender {
public:
    explicit PacedSender(uv_loop_t* loop) : timer_(loop, uv_timer_init) { timer_.get()->data = this; }
    void add(io::UdpSocket* from, const sockaddr_storage& to, Datagram d) { queue_.push_back({from, to, std::move(d)}); }
    void start() {
        uv_timer_start(
            timer_.get(), [](uv_timer_t* t) { static_cast<PacedSender*>(t->data)->tick(); }, 0, 1);
    }

private:
    struct Item {
        io::UdpSocket* from;
        sockaddr_storage to;
        Datagram bytes;
    };
    void tick() {
        for (int i = 0; i < 4 && !queue_.empty(); ++i) {
            queue_.front().from->send(queue_.front().to, queue_.front().bytes);
            queue_.pop_front();
        }
        if (queue_.empty()) uv_stop(timer_.get()->loop);
    }
    std::deque<Item> queue_;
    io::UvHandle<uv_timer_t> timer_;
};

int relay(const std::string& listen_port, const std::string& target_port, const std::string& capture) {
    std::FILE* out = std::fopen(capture.c_str(), "ab");
    if (!out) throw std::runtime_error("cannot write " + capture);
    io::UvLoop owner;
    uv_loop_t* loop = owner.get();
    const sockaddr_storage target = loopback(target_port);
    sockaddr_storage client{};
    std::unique_ptr<io::UdpSocket> listener;
    io::UdpSocket upstream(loop, loopback("0"), [&](std::span<const std::uint8_t> d, const sockaddr*) {
        if (client.ss_family != 0) listener->send(client, d);
    });
    listener = std::make_unique<io::UdpSocket>(loop, loopback(listen_port), [&](std::span<const std::uint8_t> d, const sockaddr* from) {
        std::memcpy(&client, from, sizeof(sockaddr_in));
        // Forwarded first: whatever a replayer reads from the capture has already gone to the target.
        upstream.send(target, d);
        const std::uint8_t len[2] = {static_cast<std::uint8_t>(d.size() >> 8), static_cast<std::uint8_t>(d.size())};
        std::fwrite(len, 1, 2, out);
        std::fwrite(d.data(), 1, d.size(), out);
        std::fflush(out);
    });
    run_until_stopped(loop);
    std::fclose(out);
    return 0;
}

int replay(const std::string& capture, const std::string& port) {
    const std::vector<Datagram> datagrams = read_capture(capture);
    io::UvLoop owner;
    io::UdpSocket socket(owner.get(), loopback("0"), [](std::span<const std::uint8_t>, const sockaddr*) {});
    PacedSender sender(owner.get());
    for (const Datagram& d : datagrams) sender.add(&socket, loopback(port), d);
    sender.start();
    if (!datagrams.empty()) uv_run(owner.get(), UV_RUN_DEFAULT);
    fmt::print("replayed {}\n", datagrams.size());
    return 0;
}

int storm(const std::string& config_path, const std::string& port, int count, const std::vector<std::string>& captures) {
    const RingConfig config = load_config(config_path);
    const std::optional<AuthKey> key = load_key(config);
    if (!key) throw std::runtime_error("storm wants a keyed ring");
    std::vector<Datagram> captured;
    for (const auto& c : captures)
        for (auto& d : read_capture(c)) captured.push_back(std::move(d));
    if (captured.empty()) throw std::runtime_error("nothing captured to replay");

    const std::uint64_t seed = io::random_u64();
    std::fprintf(stderr, "hostile storm: seed %llu\n", static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    auto below = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto random_bytes = [&](std::size_t n) {
        Datagram d(n);
        for (auto& b : d) b = static_cast<std::uint8_t>(rng());
        return d;
    };
    std::vector<Datagram> hostile;
    for (int i = 0; i < count; ++i) hostile.push_back(random_bytes(1 + below(wire::kMaxDatagramBytes)));
    for (int i = 0; i < count / 10; ++i) hostile.push_back({});
    for (int i = 0; i < count; ++i) {
        const Datagram& c = captured[below(captured.size())];
        hostile.emplace_back(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(below(c.size())));  // truncated
    }
    for (int i = 0; i < count; ++i) {
        Datagram d = captured[below(captured.size())];
        if (i % 2) d = random_bytes(0);
        d.resize(wire::kMaxDatagramBytes + 1 + below(8000), 0x5a);  // oversized
        hostile.push_back(std::move(d));
    }
    AuthKey wrong;
    for (auto& b : wrong.bytes) b = static_cast<std::uint8_t>(rng());
    for (int i = 0; i < count; ++i) {
        // A well-formed command frame from a plausible sender, under a key that is not the ring's.
        wire::FrameHeader h;
        h.src = NodeId{static_cast<std::uint16_t>(i % 2 ? below(config.nodes.size()) : kToolIdFirst + below(100))};
        h.dst = config.nodes[below(config.nodes.size())].id;
        h.src_incarnation = Incarnation{rng()};
        h.dst_incarnation = Incarnation{i % 3 ? rng() : 0};
        h.counter = 1 + below(10);
        h.seq = Seq{1};
        h.tsval = 1;
        const Bytes command =
            encode_message(i % 2 ? Message{InjectCommand{rng(), InjectKind::lose}} : Message{SendCommand{rng(), config.nodes[0].id, Bytes{'x'}}});
        const std::span<const std::uint8_t> messages[] = {command};
        Bytes frame;
        wire::encode_frame(h, messages, frame, &wrong);
        hostile.emplace_back(frame.begin(), frame.end());
    }
    for (int i = 0; i < count; ++i) {
        Datagram d = captured[below(captured.size())];
        d[below(d.size())] ^= static_cast<std::uint8_t>(1u << below(8));  // one bit flipped
        hostile.push_back(std::move(d));
    }
    for (const Datagram& c : captured) hostile.push_back(c);  // verbatim replays

    std::size_t authentic = 0, empty = 0;
    std::array<std::size_t, wire::kDecodeErrorCount> reasons{};
    wire::Frame frame;
    for (const Datagram& d : hostile) {
        if (d.empty()) {
            ++empty;
            continue;
        }
        const wire::DecodeError e = wire::decode_frame(d, frame, &*key);
        if (e == wire::DecodeError::none)
            ++authentic;
        else
            ++reasons[static_cast<std::size_t>(e)];
    }
    std::shuffle(hostile.begin(), hostile.end(), rng);

    io::UvLoop owner;
    std::vector<std::unique_ptr<io::UdpSocket>> sockets;  // foreign sockets, a few of them
    for (int i = 0; i < 8; ++i)
        sockets.push_back(std::make_unique<io::UdpSocket>(owner.get(), loopback("0"), [](std::span<const std::uint8_t>, const sockaddr*) {}));
    PacedSender sender(owner.get());
    for (std::size_t i = 0; i < hostile.size(); ++i) sender.add(sockets[i % sockets.size()].get(), loopback(port), std::move(hostile[i]));
    sender.start();
    uv_run(owner.get(), UV_RUN_DEFAULT);

    std::string line = fmt::format("expect sent={} authentic={} empty={}", hostile.size(), authentic, empty);
    for (std::size_t i = 1; i < wire::kDecodeErrorCount; ++i)
        line += fmt::format(" {}={}", wire::to_string(static_cast<wire::DecodeError>(i)), reasons[i]);
    fmt::print("{}\n", line);
    return 0;
}

// One of the holder's sessions: a tool id on one node, and the process (client) holding it now.
struct HeldSession {
    NodeId node, self;
    sockaddr_storage address;
    std::unique_ptr<io::ToolClient> client;
    bool answered = false;
};

struct Holder {
    uv_loop_t* loop;
    LinkConfig link;
    std::vector<HeldSession> held;
    std::size_t pending = 0;
    int failed = 0;

    void open(HeldSession& s) {
        s.client = std::make_unique<io::ToolClient>(loop, s.node, s.address, link, s.self);
        s.client->query(StatusQuery{0}, std::chrono::seconds(5), [this, &s](std::optional<Message> m) {
            const bool ok = m && std::holds_alternative<StatusReply>(*m);
            if (s.answered) {
                if (!ok) fmt::print(stderr, "hostile hold: node {} did not answer session {} opened again\n", s.node.value, s.self.value);
                return;
            }
            if (!ok) {
                fmt::print("unanswered: node {}\n", s.node.value);
                failed = 1;
                uv_stop(loop);
                return;
            }
            s.answered = true;
            if (--pending == 0) {
                fmt::print("held {}\n", held.size());
                std::fflush(stdout);
            }
        });
    }
    // A session taken over by another tool under its id: the node drops its frames from then on,
    // and its link falls silent. A new process of ours (a later incarnation) takes the slot back.
    void retake_silent() {
        for (auto& s : held)
            if (s.answered && s.client->silent()) {
                fmt::print(stderr, "hostile hold: node {}'s session under tool id {} fell silent: opened again\n", s.node.value, s.self.value);
                open(s);
            }
    }
};

int hold(const std::string& config_path, int sessions) {
    const RingConfig config = load_config(config_path);
    io::UvLoop owner;
    Holder h{owner.get(), LinkConfig{}, {}};
    h.link.key = load_key(config);
    // Distinct ids per node (random ones could collide and share a slot).
    for (const auto& n : config.nodes)
        for (int k = 0; k < sessions; ++k)
            h.held.push_back(HeldSession{n.id, NodeId{static_cast<std::uint16_t>(kToolIdFirst + k)}, n.address, nullptr});
    h.pending = h.held.size();
    for (auto& s : h.held) h.open(s);
    io::UvHandle<uv_timer_t> retake(h.loop, uv_timer_init);
    retake.get()->data = &h;
    uv_timer_start(
        retake.get(), [](uv_timer_t* t) { static_cast<Holder*>(t->data)->retake_silent(); }, 200, 200);
    run_until_stopped(h.loop);
    std::fflush(stdout);
    return h.failed;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 4 && args[0] == "relay") return relay(args[1], args[2], args[3]);
        if (args.size() == 3 && args[0] == "replay") return replay(args[1], args[2]);
        if (args.size() >= 5 && args[0] == "storm")
            return storm(args[1], args[2], std::stoi(args[3]), std::vector<std::string>(args.begin() + 4, args.end()));
        if (args.size() == 3 && args[0] == "hold") return hold(args[1], std::stoi(args[2]));
    } catch (const std::exception& e) {
        fmt::print(stderr, "hostile: {}\n", e.what());
        return 1;
    }
    fmt::print(
        stderr,
        "usage: hostile relay LISTEN_PORT TARGET_PORT CAPTURE | replay CAPTURE PORT | storm CONFIG PORT COUNT CAPTURE... | hold CONFIG SESSIONS\n");
    return 2;
}
