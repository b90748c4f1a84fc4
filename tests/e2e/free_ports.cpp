// Prints N distinct free UDP ports on 127.0.0.1 (bound together, then released), for e2e configs.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 1;
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        const int fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            std::perror("free_ports: bind 127.0.0.1:0");
            return 1;
        }
        std::printf("%d\n", ntohs(a.sin_port));
        fds.push_back(fd);
    }
    for (int fd : fds) close(fd);
    return 0;
}
