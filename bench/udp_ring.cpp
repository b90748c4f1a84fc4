// The hop-latency baseline: N plain processes pass one 64-byte UDP datagram round a ring on
// 127.0.0.1 with blocking sockets (no framing, no acknowledgement, no event loop), the floor a
// token ring of N processes can reach on this host. Process 0 times each rotation on the monotonic
// clock and prints one JSON line: {"bench":"udp_ring","nodes":N,"rotations":R,"p50_us",..,"p99_us",..}.
//
// Usage: udp_ring --nodes N [--rotations R] [--warmup W] [--ack]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace {

constexpr std::size_t kDatagramBytes = 64;
constexpr std::uint8_t kStop = 0xff;  // first byte: pass it on once more, then exit

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

struct RingSocket {
    int fd = -1;
    sockaddr_in address{};
};

RingSocket bind_loopback() {
    RingSocket s;
    s.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (s.fd < 0) fail("socket");
    s.address.sin_family = AF_INET;
    s.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s.fd, reinterpret_cast<const sockaddr*>(&s.address), sizeof s.address) != 0) fail("bind 127.0.0.1:0");
    socklen_t len = sizeof s.address;
    if (getsockname(s.fd, reinterpret_cast<sockaddr*>(&s.address), &len) != 0) fail("getsockname");
    return s;
}

void send_to(int fd, const std::array<std::uint8_t, kDatagramBytes>& d, const sockaddr_in& to) {
    while (sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
        if (errno != EINTR) fail("sendto");
}

void receive(int fd, std::array<std::uint8_t, kDatagramBytes>& d) {
    while (recv(fd, d.data(), d.size(), 0) < 0)
        if (errno != EINTR) fail("recv");
}

// With --ack, each hop also acknowledges the datagram to its sender, as a reliable link must: a
// datagram to the sender's second socket, which nobody waits on (so it wakes nobody) and which its
// owner empties each time it is awake anyway. The floor of a ring that acknowledges every hop.
struct Acks {
    int own = -1;                     // this process's ack socket, or -1 without --ack
    const sockaddr_in* to = nullptr;  // the predecessor's
    void after_pass(int fd) const {
        if (own < 0) return;
        std::array<std::uint8_t, kDatagramBytes> a{};
        send_to(fd, a, *to);
        while (recv(own, a.data(), a.size(), MSG_DONTWAIT) >= 0) {}
    }
};

// Every process but the first: receive, pass on, until the stop datagram has gone by.
void relay(int fd, const sockaddr_in& next, const Acks& acks) {
    std::array<std::uint8_t, kDatagramBytes> d{};
    for (;;) {
        receive(fd, d);
        send_to(fd, d, next);
        acks.after_pass(fd);
        if (d[0] == kStop) return;
    }
}

double quantile_us(std::vector<double> xs, double q) {
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
    std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(rank), xs.end());
    return xs[rank];
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"udp_ring: the baseline ring of plain processes passing one 64-byte UDP datagram"};
    int nodes = 3;
    int rotations = 20000;
    int warmup = 1000;
    app.add_option("--nodes", nodes, "processes in the ring")->check(CLI::Range(2, 256))->capture_default_str();
    app.add_option("--rotations", rotations, "rotations timed")->check(CLI::Range(10, 10'000'000))->capture_default_str();
    app.add_option("--warmup", warmup, "rotations first, untimed")->check(CLI::Range(0, 10'000'000))->capture_default_str();
    bool ack = false;
    app.add_flag("--ack", ack, "each hop also sends an acknowledgement back, to a socket that wakes nobody");
    CLI11_PARSE(app, argc, argv);

    std::vector<RingSocket> ring;
    for (int i = 0; i < nodes; ++i) ring.push_back(bind_loopback());
    std::vector<RingSocket> ack_sockets;
    for (int i = 0; ack && i < nodes; ++i) ack_sockets.push_back(bind_loopback());
    auto acks_of = [&](int i) {
        if (!ack) return Acks{};
        return Acks{ack_sockets[static_cast<std::size_t>(i)].fd, &ack_sockets[static_cast<std::size_t>((i + nodes - 1) % nodes)].address};
    };
    std::vector<pid_t> children;
    for (int i = 1; i < nodes; ++i) {
        const pid_t pid = fork();
        if (pid < 0) fail("fork");
        if (pid == 0) {
            relay(ring[static_cast<std::size_t>(i)].fd, ring[static_cast<std::size_t>((i + 1) % nodes)].address, acks_of(i));
            _exit(0);
        }
        children.push_back(pid);
    }

    const int fd = ring[0].fd;
    std::array<std::uint8_t, kDatagramBytes> d{};
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(rotations));
    for (int r = 0; r < warmup + rotations; ++r) {
        const auto start = std::chrono::steady_clock::now();
        send_to(fd, d, ring[1].address);
        acks_of(0).after_pass(fd);
        receive(fd, d);
        const auto took = std::chrono::steady_clock::now() - start;
        if (r >= warmup) us.push_back(std::chrono::duration<double, std::micro>(took).count());
    }
    d[0] = kStop;
    send_to(fd, d, ring[1].address);
    receive(fd, d);
    for (pid_t pid : children) waitpid(pid, nullptr, 0);

    const nlohmann::ordered_json line{{"bench", "udp_ring"},
                                      {"nodes", nodes},
                                      {"ack", ack},
                                      {"rotations", rotations},
                                      {"p50_us", quantile_us(us, 0.5)},
                                      {"p99_us", quantile_us(us, 0.99)}};
    fmt::print("{}\n", line.dump());
    return 0;
}
