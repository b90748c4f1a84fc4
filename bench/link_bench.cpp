// link_bench: 64-byte messages between two processes pinned to fixed cores, over the ringwatch link,
// raw UDP (no reliability: the floor), TCP on loopback (one write per message, TCP_NODELAY) and
// ENet's reliable channel. Per case: ping-pong round trips (p50/p99) and streaming throughput
// measured by the receiver over a fixed window. Transports alternate in rounds; each case reports
// the median over rounds. One JSON line per case, then one summary line with the ratios.
//
// Loss is applied to datagrams in both directions: by our impairment shim for ringwatch, by ENet's
// intercept hook for ENet. TCP and raw UDP run at 0% only.
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <enet/enet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ring/io/clock.h"
#include "ring/io/endpoint_driver.h"

using namespace ringwatch;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMessageBytes = 64;
constexpr std::uint8_t kPing = 'P';
constexpr std::uint8_t kStream = 'S';

struct Settings {
    int pings = 5000;
    int warmup_pings = 50;
    double stream_seconds = 1.0;
    double ping_seconds = 3.0;  // the ping phase stops early after this long (lossy, slow transports)
    int rounds = 3;
    std::string only;                      // run one transport only
    std::vector<int> ack_delays_us = {0};  // the ringwatch cases run once per LinkConfig::ack_delay
};

struct Report {  // what the receiving process writes back over the pipe
    std::uint64_t messages = 0;
    double seconds = 0;
};

struct RoundResult {
    double p50_us = 0, p99_us = 0, msgs_per_s = 0;
};

[[noreturn]] void die(const std::string& what) {
    fmt::print(stderr, "link_bench: {}: {}\n", what, std::strerror(errno));
    std::exit(1);
}

void pin_to_core(int core) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core % static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))), &set);
    sched_setaffinity(0, sizeof set, &set);  // best effort
}

double since_us(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

int free_udp_port() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

void write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}
bool read_all(int fd, void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

// The receiving side's stream counter: a window of `seconds` from the first stream message.
struct StreamCounter {
    StreamCounter(double secs, int fd) : seconds(secs), report_fd(fd) {}
    double seconds;
    int report_fd;
    std::uint64_t count = 0;
    bool started = false;
    Clock::time_point first = Clock::now();
    bool reported = false;
    void on_message() {
        if (!started) {
            started = true;
            first = Clock::now();
        }
        ++count;
        check();
    }
    void check() {
        if (reported || !started) return;
        const double elapsed = since_us(first) / 1e6;
        if (elapsed >= seconds) {
            Report r{count, elapsed};
            write_all(report_fd, &r, sizeof r);
            reported = true;
        }
    }
};

struct Percentiles {
    double p50, p99;
};
Percentiles percentiles(std::vector<double> v) {
    if (v.empty()) return {-1, -1};  // no ping completed within the time limit
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
    return {at(0.50), at(0.99)};
}

// ---------------------------------------------------------------- raw UDP
void udp_server(int port, const Settings& s, int report_fd) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = loopback(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("udp bind");
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    timeval tv{0, 100'000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    StreamCounter counter(s.stream_seconds, report_fd);
    std::uint8_t m[2048];
    for (;;) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, m, sizeof m, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0 && m[0] == kPing) sendto(fd, m, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
        if (n > 0 && m[0] == kStream) counter.on_message();
        counter.check();
    }
}

std::vector<double> udp_client_pings(int fd, const sockaddr_in& to, int n, double budget_s) {
    std::vector<double> rtts;
    std::uint8_t m[kMessageBytes] = {kPing};
    std::uint8_t r[2048];
    const auto start = Clock::now();
    for (int i = 0; i < n && since_us(start) < budget_s * 1e6; ++i) {
        const auto t = Clock::now();
        sendto(fd, m, sizeof m, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        if (recv(fd, r, sizeof r, 0) > 0) rtts.push_back(since_us(t));  // a lost ping is skipped
    }
    return rtts;
}

RoundResult udp_client(int port, const Settings& s, int report_fd) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{0, 100'000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const sockaddr_in to = loopback(port);
    udp_client_pings(fd, to, s.warmup_pings, s.ping_seconds);
    auto p = percentiles(udp_client_pings(fd, to, s.pings, s.ping_seconds));
    std::uint8_t m[kMessageBytes] = {kStream};
    for (std::uint64_t i = 0;; ++i) {
        sendto(fd, m, sizeof m, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        if (i % 256 == 0 && readable(report_fd)) break;
    }
    Report r;
    read_all(report_fd, &r, sizeof r);
    close(fd);
    return {p.p50, p.p99, static_cast<double>(r.messages) / r.seconds};
}

// ---------------------------------------------------------------- TCP
void tcp_server(int port, const Settings& s, int report_fd) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(port);
    if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("tcp bind");
    listen(lfd, 1);
    int fd = accept(lfd, nullptr, nullptr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    StreamCounter counter(s.stream_seconds, report_fd);
    // Large reads, as a real receiver would do; messages are cut out of the byte stream.
    std::vector<std::uint8_t> buf(1 << 16);
    std::size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf.data() + have, buf.size() - have);
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
        std::size_t off = 0;
        for (; off + kMessageBytes <= have; off += kMessageBytes) {
            if (buf[off] == kPing) write_all(fd, &buf[off], kMessageBytes);
            if (buf[off] == kStream) counter.on_message();
        }
        std::memmove(buf.data(), buf.data() + off, have - off);
        have -= off;
    }
    std::exit(0);
}

RoundResult tcp_client(int port, const Settings& s, int report_fd) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in to = loopback(port);
    for (int tries = 0; connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0; ++tries) {
        if (tries > 1000) die("tcp connect");
        usleep(1000);  // the server is still starting; not a synchronisation of the measurement
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint8_t m[kMessageBytes] = {kPing};
    std::vector<double> rtts;
    auto start = Clock::now();
    for (int i = 0; i < s.warmup_pings + s.pings && since_us(start) < s.ping_seconds * 1e6; ++i) {
        if (i == s.warmup_pings) start = Clock::now();  // warm-up has a budget of its own
        const auto t = Clock::now();
        write_all(fd, m, sizeof m);
        if (!read_all(fd, m, sizeof m)) die("tcp read");
        if (i >= s.warmup_pings) rtts.push_back(since_us(t));
    }
    auto p = percentiles(rtts);
    m[0] = kStream;
    for (std::uint64_t i = 0;; ++i) {
        write_all(fd, m, sizeof m);  // one write per message, as an application would
        if (i % 256 == 0 && readable(report_fd)) break;
    }
    Report r;
    read_all(report_fd, &r, sizeof r);
    close(fd);
    return {p.p50, p.p99, static_cast<double>(r.messages) / r.seconds};
}

// ---------------------------------------------------------------- ENet
struct EnetLoss {
    double loss;
    std::mt19937_64 rng{7};
};
EnetLoss* g_enet_loss = nullptr;

int enet_drop(ENetHost*, ENetEvent*) {
    if (!g_enet_loss || g_enet_loss->loss <= 0) return 0;
    return std::uniform_real_distribution<double>(0, 1)(g_enet_loss->rng) < g_enet_loss->loss ? 1 : 0;
}

void enet_server(int port, double loss, const Settings& s, int report_fd) {
    enet_initialize();
    EnetLoss l{loss};
    g_enet_loss = &l;
    ENetAddress a{};
    enet_address_set_host(&a, "127.0.0.1");
    a.port = static_cast<enet_uint16>(port);
    ENetHost* h = enet_host_create(&a, 1, 1, 0, 0);
    if (!h) die("enet_host_create server");
    h->intercept = enet_drop;
    StreamCounter counter(s.stream_seconds, report_fd);
    for (;;) {
        ENetEvent e;
        while (enet_host_service(h, &e, 1) > 0) {
            if (e.type == ENET_EVENT_TYPE_RECEIVE) {
                if (e.packet->data[0] == kPing) {
                    enet_peer_send(e.peer, 0, enet_packet_create(e.packet->data, e.packet->dataLength, ENET_PACKET_FLAG_RELIABLE));
                    enet_host_flush(h);
                } else {
                    counter.on_message();
                }
                enet_packet_destroy(e.packet);
            }
        }
        counter.check();
    }
}

std::uint64_t g_enet_outstanding = 0;

RoundResult enet_client(int port, double loss, const Settings& s, int report_fd) {
    enet_initialize();
    EnetLoss l{loss};
    l.rng.seed(11);
    g_enet_loss = &l;
    ENetHost* h = enet_host_create(nullptr, 1, 1, 0, 0);
    if (!h) die("enet_host_create client");
    h->intercept = enet_drop;
    ENetAddress a{};
    enet_address_set_host(&a, "127.0.0.1");
    a.port = static_cast<enet_uint16>(port);
    ENetPeer* peer = enet_host_connect(h, &a, 1, 0);
    ENetEvent e;
    bool connected = false;
    const auto connect_start = Clock::now();
    while (!connected && since_us(connect_start) < 10e6) {
        if (enet_host_service(h, &e, 100) > 0 && e.type == ENET_EVENT_TYPE_CONNECT) connected = true;
    }
    if (!connected) return {-1, -1, 0};
    std::uint8_t m[kMessageBytes] = {kPing};
    std::vector<double> rtts;
    auto start = Clock::now();
    for (int i = 0; i < s.warmup_pings + s.pings && since_us(start) < s.ping_seconds * 1e6; ++i) {
        if (i == s.warmup_pings) start = Clock::now();  // warm-up has a budget of its own
        const auto t = Clock::now();
        enet_peer_send(peer, 0, enet_packet_create(m, sizeof m, ENET_PACKET_FLAG_RELIABLE));
        enet_host_flush(h);
        bool got = false;
        while (!got && since_us(start) < s.ping_seconds * 1e6) {
            if (enet_host_service(h, &e, 1) > 0 && e.type == ENET_EVENT_TYPE_RECEIVE) {
                enet_packet_destroy(e.packet);
                got = true;
            }
        }
        if (!got) break;  // out of time (or ENet gave up on the peer)
        if (i >= s.warmup_pings) rtts.push_back(since_us(t));
    }
    auto p = percentiles(rtts);
    m[0] = kStream;
    // ENet queues without bound; keep at most as many messages outstanding as our window.
    g_enet_outstanding = 0;
    const auto stream_start = Clock::now();
    for (;;) {
        for (int k = 0; k < 64 && g_enet_outstanding < 1024; ++k) {
            ENetPacket* pk = enet_packet_create(m, sizeof m, ENET_PACKET_FLAG_RELIABLE);
            pk->freeCallback = [](ENetPacket*) { --g_enet_outstanding; };
            ++g_enet_outstanding;
            enet_peer_send(peer, 0, pk);
        }
        while (enet_host_service(h, &e, 0) > 0) {
            if (e.type == ENET_EVENT_TYPE_RECEIVE) enet_packet_destroy(e.packet);
        }
        if (readable(report_fd)) break;
        if (since_us(stream_start) > (3 * s.stream_seconds + 10) * 1e6) return {p.p50, p.p99, 0};  // stalled
        if (g_enet_outstanding >= 1024) enet_host_service(h, &e, 1);
    }
    Report r;
    read_all(report_fd, &r, sizeof r);
    enet_host_destroy(h);
    return {p.p50, p.p99, static_cast<double>(r.messages) / r.seconds};
}

// ---------------------------------------------------------------- ringwatch link
LinkConfig link_config(int ack_delay_us) {
    LinkConfig c;
    c.ack_delay = Duration{ack_delay_us};
    return c;
}

void ringwatch_server(int port, int client_port, double loss, int ack_delay_us, const Settings& s, int report_fd) {
    io::UvLoop l;
    io::EndpointDriver d(l.get(), NodeId{2}, *io::parse_address(fmt::format("127.0.0.1:{}", port)), link_config(ack_delay_us), io::new_incarnation());
    d.add_peer(NodeId{1}, *io::parse_address(fmt::format("127.0.0.1:{}", client_port)));
    d.impairment().set_default(io::ImpairmentConfig{loss, 0, 0});
    StreamCounter counter(s.stream_seconds, report_fd);
    d.on_deliver([&](NodeId from, Bytes m) {
        if (m[0] == kPing) {
            d.send(from, m);
        } else {
            counter.on_message();
        }
    });
    io::UvHandle<uv_timer_t> tick(l.get(), uv_timer_init);
    tick.get()->data = &counter;
    uv_timer_start(
        tick.get(), [](uv_timer_t* t) { static_cast<StreamCounter*>(t->data)->check(); }, 10, 10);
    uv_run(l.get(), UV_RUN_DEFAULT);
}

RoundResult ringwatch_client(int port, int self_port, double loss, int ack_delay_us, const Settings& s, int report_fd) {
    io::UvLoop l;
    io::EndpointDriver d(l.get(), NodeId{1}, *io::parse_address(fmt::format("127.0.0.1:{}", self_port)), link_config(ack_delay_us),
                         io::new_incarnation());
    d.add_peer(NodeId{2}, *io::parse_address(fmt::format("127.0.0.1:{}", port)));
    d.impairment().set_default(io::ImpairmentConfig{loss, 0, 0});
    const Bytes ping = [] {
        Bytes b(kMessageBytes, 0);
        b[0] = kPing;
        return b;
    }();
    const Bytes stream = [] {
        Bytes b(kMessageBytes, 0);
        b[0] = kStream;
        return b;
    }();
    std::vector<double> rtts;
    int pings_done = 0;
    Clock::time_point t0;
    auto start = Clock::now();
    bool streaming = false;
    auto feed = [&] {
        while (d.send(NodeId{2}, stream) == SendStatus::queued) {}
    };
    d.on_deliver([&](NodeId, Bytes) {
        if (pings_done++ >= s.warmup_pings) rtts.push_back(since_us(t0));
        if (pings_done == s.warmup_pings) start = Clock::now();  // warm-up has a budget of its own
        if (pings_done < s.warmup_pings + s.pings && since_us(start) < s.ping_seconds * 1e6) {
            t0 = Clock::now();
            d.send(NodeId{2}, ping);
        } else {
            streaming = true;
            feed();
        }
    });
    d.on_event([&](NodeId, const LinkEvent& e) {
        if (streaming && e.kind == LinkEventKind::window_open) feed();
    });
    io::UvHandle<uv_poll_t> report(l.get(), uv_poll_init, report_fd);
    uv_poll_start(report.get(), UV_READABLE, [](uv_poll_t* p, int, int) { uv_stop(p->loop); });
    t0 = Clock::now();
    d.send(NodeId{2}, ping);
    uv_run(l.get(), UV_RUN_DEFAULT);
    Report r;
    read_all(report_fd, &r, sizeof r);
    auto p = percentiles(rtts);
    return {p.p50, p.p99, static_cast<double>(r.messages) / r.seconds};
}

// ---------------------------------------------------------------- one case, one round
struct Case {
    std::string transport;
    double loss;
    int ack_delay_us = 0;  // ringwatch only
};

RoundResult run_round(const Case& c, const Settings& s) {
    const int server_port = free_udp_port();
    const int client_port = free_udp_port();
    int report[2];
    if (pipe(report) != 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        close(report[0]);
        pin_to_core(1);
        if (c.transport == "udp") udp_server(server_port, s, report[1]);
        if (c.transport == "tcp") tcp_server(server_port, s, report[1]);
        if (c.transport == "enet") enet_server(server_port, c.loss, s, report[1]);
        if (c.transport == "ringwatch") ringwatch_server(server_port, client_port, c.loss, c.ack_delay_us, s, report[1]);
        std::_Exit(0);
    }
    close(report[1]);
    pin_to_core(0);
    RoundResult r;
    if (c.transport == "udp") r = udp_client(server_port, s, report[0]);
    if (c.transport == "tcp") r = tcp_client(server_port, s, report[0]);
    if (c.transport == "enet") r = enet_client(server_port, c.loss, s, report[0]);
    if (c.transport == "ringwatch") r = ringwatch_client(server_port, client_port, c.loss, c.ack_delay_us, s, report[0]);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(report[0]);
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"link_bench: the ringwatch link against raw UDP, TCP and ENet (64-byte messages, JSON lines)"};
    Settings s;
    app.add_option("--rounds", s.rounds, "rounds; transports alternate within each")->capture_default_str()->check(CLI::Range(1, 50));
    app.add_option("--pings", s.pings, "ping-pongs measured per case and round")->capture_default_str()->check(CLI::Range(10, 1'000'000));
    app.add_option("--ping-seconds", s.ping_seconds, "time limit of the ping phase per case and round")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 600.0));
    app.add_option("--stream-seconds", s.stream_seconds, "receiver's measuring window for throughput")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 60.0));
    app.add_option("--only", s.only, "one transport only")->check(CLI::IsMember({"ringwatch", "udp", "tcp", "enet"}));
    app.add_option("--ack-delay-us", s.ack_delays_us, "the link's ack_delay; a comma-separated list runs each (summary: the first)")
        ->delimiter(',')
        ->capture_default_str()
        ->check(CLI::Range(0, 100'000));
    if (auto rc = ringwatch::io::parse_command_line(app, argc, argv, "link_bench")) return *rc;
    signal(SIGPIPE, SIG_IGN);

    std::vector<Case> cases = {{"udp", 0}, {"tcp", 0}};
    for (double loss : {0.0, 0.1, 0.3}) {
        for (int ack_delay_us : s.ack_delays_us) cases.push_back({"ringwatch", loss, ack_delay_us});
        cases.push_back({"enet", loss});
    }
    if (!s.only.empty()) std::erase_if(cases, [&](const Case& c) { return c.transport != s.only; });
    std::vector<std::vector<RoundResult>> results(cases.size());
    for (int round = 0; round < s.rounds; ++round) {
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const auto t = Clock::now();
            results[i].push_back(run_round(cases[i], s));
            const RoundResult& r = results[i].back();
            fmt::print(stderr, "round {} {} loss {} ack_delay_us {}: p50 {:.1f} us, p99 {:.1f} us, {:.0f} msgs/s ({:.1f} s)\n", round,
                       cases[i].transport, cases[i].loss, cases[i].ack_delay_us, r.p50_us, r.p99_us, r.msgs_per_s, since_us(t) / 1e6);
        }
    }

    auto med = [&](std::size_t i, double RoundResult::*f) {
        std::vector<double> v;
        for (auto& r : results[i]) v.push_back(r.*f);
        return median(v);
    };
    auto find = [&](const std::string& t, double loss) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < cases.size(); ++i)
            if (cases[i].transport == t && cases[i].loss == loss && (t != "ringwatch" || cases[i].ack_delay_us == s.ack_delays_us[0])) return i;
        return std::nullopt;
    };
    // Figures rounded as printed before (0.1 us, whole messages per second), as JSON numbers.
    const auto round_to = [](double v, double unit) { return std::round(v / unit) * unit; };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const nlohmann::ordered_json line{{"bench", "link"},
                                          {"transport", cases[i].transport},
                                          {"loss", cases[i].loss},
                                          {"ack_delay_us", cases[i].ack_delay_us},
                                          {"rtt_p50_us", round_to(med(i, &RoundResult::p50_us), 0.1)},
                                          {"rtt_p99_us", round_to(med(i, &RoundResult::p99_us), 0.1)},
                                          {"msgs_per_s", round_to(med(i, &RoundResult::msgs_per_s), 1)},
                                          {"rounds", s.rounds}};
        fmt::print("{}\n", line.dump());
    }
    auto rw0 = find("ringwatch", 0), rw10 = find("ringwatch", 0.1), udp = find("udp", 0), tcp = find("tcp", 0), en0 = find("enet", 0),
         en10 = find("enet", 0.1);
    if (rw0 && rw10 && udp && tcp && en0 && en10) {
        const double rtt_vs_udp = med(*rw0, &RoundResult::p50_us) / med(*udp, &RoundResult::p50_us);
        const double tput_vs_enet = med(*rw0, &RoundResult::msgs_per_s) / med(*en0, &RoundResult::msgs_per_s);
        const double tput_vs_tcp = med(*rw0, &RoundResult::msgs_per_s) / med(*tcp, &RoundResult::msgs_per_s);
        const double tput10_vs_own0 = med(*rw10, &RoundResult::msgs_per_s) / med(*rw0, &RoundResult::msgs_per_s);
        const double tput10_vs_enet10 = med(*rw10, &RoundResult::msgs_per_s) / med(*en10, &RoundResult::msgs_per_s);
        const double p99_10 = med(*rw10, &RoundResult::p99_us);
        const nlohmann::ordered_json summary{{"bench", "link_summary"},
                                             {"rtt_p50_vs_udp", round_to(rtt_vs_udp, 0.01)},
                                             {"target_rtt_p50_vs_udp", 1.5},
                                             {"tput_vs_enet", round_to(tput_vs_enet, 0.01)},
                                             {"target_tput_vs_enet", 1.0},
                                             {"tput_vs_tcp", round_to(tput_vs_tcp, 0.01)},
                                             {"target_tput_vs_tcp", 0.5},
                                             {"tput_loss10_vs_own_loss0", round_to(tput10_vs_own0, 0.01)},
                                             {"target_tput_loss10_vs_own_loss0", 0.5},
                                             {"tput_loss10_vs_enet_loss10", round_to(tput10_vs_enet10, 0.1)},
                                             {"target_tput_loss10_vs_enet_loss10", 10},
                                             {"rtt_p99_loss10_us", round_to(p99_10, 1)},
                                             {"target_rtt_p99_loss10_us", 5000}};
        fmt::print("{}\n", summary.dump());
    }
    return 0;
}
