// Prints N distinct ports on 127.0.0.1 that are free for both UDP and TCP, for e2e configs.
//
// Why not bind port 0 and release it: the kernel hands out the same ephemeral range to every
// program that binds port 0 or connects, so between our release and the test's bind another test
// running at the same time (a tool's socket, a browser's connection) could take the port. These
// ports are drawn at random below the ephemeral range, which the kernel never gives out by
// itself, and kept only if both a UDP and a TCP bind succeed (the dashboard and metrics listen on
// TCP). Two tests drawing the same port at once remain possible, but at odds of a few in 10^4.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {
bool bindable(int type, int port) {
    const int fd = socket(AF_INET, type, 0);
    if (fd < 0) return false;
    const int on = 1;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // TIME_WAIT is no obstacle to a listener
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}
}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 1;
    int ephemeral_low = 32768;  // the kernel's default, if its setting cannot be read
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
    const int low = 10000, high = ephemeral_low - 1;
    if (n < 1 || high - low < 10 * n) {
        std::fprintf(stderr, "free_ports: cannot draw %d port(s) from %d..%d\n", n, low, high);
        return 1;
    }
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> pick(low, high);
    std::set<int> chosen;
    for (int tries = 0; static_cast<int>(chosen.size()) < n; ++tries) {
        if (tries > 100 * n) {
            std::fprintf(stderr, "free_ports: found only %zu free port(s) of %d in %d..%d\n", chosen.size(), n, low, high);
            return 1;
        }
        const int p = pick(rng);
        if (!chosen.contains(p) && bindable(SOCK_DGRAM, p) && bindable(SOCK_STREAM, p)) chosen.insert(p);
    }
    for (int p : chosen) std::printf("%d\n", p);
    return 0;
}
