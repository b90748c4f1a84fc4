// The dashboard's web server on its own thread, over real TCP on 127.0.0.1: what a crowd of
// clients can and cannot do to it (lock the operator out, make it queue without bound, hold
// connections), and that greetings and controls are answered on the owner's loop.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "monitor/io/web_thread.h"
#include "ring/io/clock.h"

using namespace ringwatch;
using namespace ringwatch::io;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

// The monitor's loop, run on a thread of its own so that the test can block on its clients.
class Owner {
public:
    Owner() : stop_(loop_.get(), uv_async_init, [](uv_async_t* a) { uv_stop(a->loop); }) {}
    void start() {
        thread_ = std::thread([this] {
            id_ = std::this_thread::get_id();
            uv_run(loop_.get(), UV_RUN_DEFAULT);
        });
    }
    void stop() {
        if (!thread_.joinable()) return;
        uv_async_send(stop_.get());
        thread_.join();
    }
    ~Owner() { stop(); }
    uv_loop_t* loop() { return loop_.get(); }
    std::thread::id id() const { return id_; }

private:
    UvLoop loop_;
    UvHandle<uv_async_t> stop_;
    std::thread thread_;
    std::atomic<std::thread::id> id_;
};

// A client connection, blocking, with a 5 s guard on every read.
class Client {
public:
    // `wait_s`: how long a read waits for anything before the client gives up.
    explicit Client(int port, int rcvbuf = 0, int wait_s = 5) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        timeval tv{wait_s, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send(const std::string& request) {
        REQUIRE(::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
    }
    // Reads until the headers are in (or the connection ends): the status, 0 if none.
    int status() {
        while (in_.find("\r\n\r\n") == std::string::npos)
            if (!read_some()) break;
        if (in_.size() < 12 || !in_.starts_with("HTTP/1.1 ")) return 0;
        return std::stoi(in_.substr(9, 3));
    }
    // Reads until the server closes the connection (true) or wait_s pass with nothing (false).
    bool until_closed() {
        while (read_some()) {}
        return closed_;
    }
    // Reads until `text` has arrived.
    bool until_seen(const std::string& text) {
        while (in_.find(text) == std::string::npos)
            if (!read_some()) return false;
        return true;
    }
    std::string body() const {
        const auto end = in_.find("\r\n\r\n");
        return end == std::string::npos ? std::string() : in_.substr(end + 4);
    }
    // Reads until the body holds a whole line.
    bool until_line_in_body() {
        while (body().find('\n') == std::string::npos)
            if (!read_some()) return false;
        return true;
    }
    std::size_t received() const { return received_; }

private:
    bool read_some() {
        char buf[16384];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            closed_ = n == 0 || errno == ECONNRESET;
            return false;
        }
        received_ += static_cast<std::size_t>(n);
        if (in_.size() < (1 << 20)) in_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    int fd_ = -1;
    std::string in_;
    std::size_t received_ = 0;
    bool closed_ = false;
};

std::string get(int port, const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n"; }
std::string post(int port, const std::string& path, bool with_secret) {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
           (with_secret ? std::string("X-Ringwatch-Secret: ") + kSecret + "\r\n" : std::string()) + "Content-Length: 0\r\n\r\n";
}

struct Server {
    Owner owner;
    std::atomic<int> greetings{0}, controls{0};
    std::atomic<bool> off_owner_loop{false};  // a greeting or control ran elsewhere than the owner's loop
    std::optional<WebThread> web;
    explicit Server(ClientLimit per_client = {}) {
        web.emplace(
            owner.loop(), "127.0.0.1:0", std::vector<std::string>{"dash.example.org"}, kSecret,
            std::vector<WebAsset>{{"/", "text/html", "<title>t</title>"}},
            [this] {
                if (std::this_thread::get_id() != owner.id()) off_owner_loop = true;
                ++greetings;
                return std::vector<std::string>{"{\"type\":\"hello\"}"};
            },
            [this](const ControlRequest& r) {
                if (std::this_thread::get_id() != owner.id()) off_owner_loop = true;
                ++controls;
                return ControlAnswer{202, "did " + r.action};
            },
            per_client);
        owner.start();
    }
    ~Server() {
        owner.stop();  // the owner's loop stops before the web thread's handle on it is closed
        web.reset();
    }
    int port() const { return web->port(); }
};

}  // namespace

TEST_CASE("web server: greetings and controls run on the owner's loop, and a page gets the messages after its greeting", "[web]") {
    Server s;
    Client page(s.port());
    page.send(get(s.port(), "/events"));
    REQUIRE(page.status() == 200);
    REQUIRE(page.until_seen("data: {\"type\":\"hello\"}\n\n"));
    s.web->broadcast("after");
    CHECK(page.until_seen("data: after\n\n"));
    Client c(s.port());
    c.send(post(s.port(), "/control/inject?node=1&kind=lose", true));
    CHECK(c.status() == 202);
    CHECK(c.until_seen("did inject\n"));
    Client refused(s.port());
    refused.send(post(s.port(), "/control/inject?node=1&kind=lose", false));
    CHECK(refused.status() == 403);
    CHECK(s.greetings == 1);
    CHECK(s.controls == 1);
    CHECK_FALSE(s.off_owner_loop);
}

TEST_CASE("web server: a Host must name the server by address, localhost or a configured name, controls come from the same origin", "[web]") {
    Server s;
    const std::string port = std::to_string(s.port());
    auto status_for = [&](const std::string& request) {
        Client c(s.port());
        c.send(request);
        return c.status();
    };
    auto get_with_host = [](const std::string& host) { return "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"; };
    CHECK(status_for(get_with_host("127.0.0.1:" + port)) == 200);
    CHECK(status_for(get_with_host("localhost:" + port)) == 200);
    CHECK(status_for(get_with_host("dash.example.org:" + port)) == 200);
    CHECK(status_for(get_with_host("DASH.Example.ORG:" + port)) == 200);
    CHECK(status_for(get_with_host("dash.example.org")) == 403);  // port 80 implied: not this server's
    CHECK(status_for(get_with_host("rebind.evil.example:" + port)) == 403);
    CHECK(status_for(get_with_host("dash.example.org.evil.example:" + port)) == 403);
    auto control_from = [&](const std::string& host, const std::string& origin) {
        return "POST /control/inject?node=1&kind=lose HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + origin + "\r\nX-Ringwatch-Secret: " + kSecret +
               "\r\nContent-Length: 0\r\n\r\n";
    };
    CHECK(status_for(control_from("dash.example.org:" + port, "http://dash.example.org:" + port)) == 202);
    CHECK(status_for(control_from("dash.example.org:" + port, "http://evil.example")) == 403);
    CHECK(s.controls == 1);
}

TEST_CASE("web server: a crowd of anonymous pages cannot lock out the operator's page, which shows a one-time ticket", "[web]") {
    Server s;
    std::vector<std::unique_ptr<Client>> crowd;
    for (std::size_t i = 0; i < WebServer::kMaxPages; ++i) {
        crowd.push_back(std::make_unique<Client>(s.port()));
        crowd.back()->send(get(s.port(), "/events"));
        REQUIRE(crowd.back()->status() == 200);
    }
    Client one_more(s.port());
    one_more.send(get(s.port(), "/events"));
    CHECK(one_more.status() == 503);

    Client no_secret(s.port());
    no_secret.send(post(s.port(), "/control/ticket", false));
    CHECK(no_secret.status() == 403);
    Client asks(s.port());
    asks.send(post(s.port(), "/control/ticket", true));
    REQUIRE(asks.status() == 200);
    REQUIRE(asks.until_line_in_body());
    std::string ticket = asks.body();
    ticket.pop_back();
    REQUIRE(ticket.size() == 32);
    Client operator_page(s.port());
    operator_page.send(get(s.port(), "/events?ticket=" + ticket));
    CHECK(operator_page.status() == 200);
    CHECK(operator_page.until_seen("data: {\"type\":\"hello\"}\n\n"));
    Client again(s.port());  // a ticket is good once
    again.send(get(s.port(), "/events?ticket=" + ticket));
    CHECK(again.status() == 503);
    CHECK(s.controls == 0);  // tickets are the web server's own
}

TEST_CASE("web server: a page that stops reading is let go long before 4 MB is queued for it", "[web]") {
    Server s;
    Client stalled(s.port(), 4096);
    stalled.send(get(s.port(), "/events"));
    REQUIRE(stalled.status() == 200);
    REQUIRE(stalled.until_seen("hello"));
    // 2 MB for a page that reads nothing meanwhile: half what would once have been queued for it.
    const std::string message(32 << 10, 'x');
    for (int i = 0; i < 64; ++i) s.web->broadcast(message);
    s.web->broadcast("last");
    CHECK(stalled.until_closed());
    INFO("the stalled page received " << stalled.received() << " bytes before it was let go");
    CHECK(stalled.received() < std::size_t{1} << 20);
    // A page that reads is not let go.
    Client reader(s.port());
    reader.send(get(s.port(), "/events"));
    REQUIRE(reader.status() == 200);
    REQUIRE(reader.until_seen("hello"));
    for (int i = 0; i < 16; ++i) s.web->broadcast(message);
    s.web->broadcast("last");
    CHECK(reader.until_seen("data: last\n\n"));
}

TEST_CASE("web server: a connection that sends no request is closed, and connections beyond the bound wait unaccepted", "[web]") {
    rlimit r{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &r) == 0);
    r.rlim_cur = std::max<rlim_t>(r.rlim_cur, std::min<rlim_t>(r.rlim_max, 4096));
    ::setrlimit(RLIMIT_NOFILE, &r);
    REQUIRE(r.rlim_cur >= 2 * WebServer::kMaxConnections + 300);
    Server s;
    const Instant start = monotonic_now();
    // The server lets it go after kIdleSeconds, as its once-a-second timeout check finds it: later
    // than that on a loaded machine. A client that gave up at the same 5 s saw a flake.
    Client idle(s.port(), 0, WebServer::kIdleSeconds + 3);
    CHECK(idle.until_closed());
    CHECK(monotonic_now() - start < std::chrono::seconds(WebServer::kIdleSeconds + 3));

    // The server runs in this process: its accepted connections are among our open descriptors.
    auto open_fds = [] {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
        return n;
    };
    const std::size_t fds_before = open_fds();
    std::vector<std::unique_ptr<Client>> crowd;
    for (std::size_t i = 0; i < WebServer::kMaxConnections + 100; ++i) crowd.push_back(std::make_unique<Client>(s.port()));
    auto server_side = [&] { return open_fds() - fds_before - crowd.size(); };
    const Instant deadline = monotonic_now() + std::chrono::seconds(30);  // a slow machine accepts slowly
    std::size_t most = 0;
    while (monotonic_now() < deadline && most < WebServer::kMaxConnections - 8) {
        most = std::max(most, server_side());
        std::this_thread::yield();
    }
    CHECK(most >= WebServer::kMaxConnections - 8);      // it accepted up to its bound...
    CHECK(server_side() < WebServer::kMaxConnections);  // ...and no further
    // The rest are accepted as the idle ones are let go, and let go in their turn.
    bool closed = false;
    for (int i = 0; i < 4 && !closed; ++i) closed = crowd.back()->until_closed();
    CHECK(closed);
    crowd.clear();
    Client after(s.port());
    after.send(get(s.port(), "/"));
    CHECK(after.status() == 200);
}

TEST_CASE("web server: one client address holds at most its share of connections, loopback clients are one address, so exempt", "[web]") {
    {
        Server s(ClientLimit{4, false});  // loopback counted, to show the bound here
        std::vector<std::unique_ptr<Client>> held;
        for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<Client>(s.port()));
        const Instant start = monotonic_now();
        Client fifth(s.port());
        CHECK(fifth.until_closed());
        CHECK(monotonic_now() - start < std::chrono::seconds(WebServer::kIdleSeconds - 2));  // at once, not idle
        held.pop_back();
        held.pop_back();
        // The two closed are no longer counted (the server may take a moment to see them go).
        bool served = false;
        for (int i = 0; i < 50 && !served; ++i) {
            Client again(s.port());
            again.send(get(s.port(), "/"));
            served = again.status() == 200;
        }
        CHECK(served);
    }
    Server s;  // as the monitor runs it
    std::vector<std::unique_ptr<Client>> local;
    for (int i = 0; i < 40; ++i) local.push_back(std::make_unique<Client>(s.port()));
    local.back()->send(get(s.port(), "/"));
    CHECK(local.back()->status() == 200);
}

TEST_CASE("web server: /healthz is 200 while the owner's reports are fresh and a conclusive snapshot recent, 503 otherwise, with no secret",
          "[web][health]") {
    Server s;
    auto healthz = [&](const std::string& request = std::string()) {
        Client c(s.port());
        c.send(request.empty() ? get(s.port(), "/healthz") : request);
        const int status = c.status();
        if (status == 200 || status == 503) c.until_seen("}\n");  // JSON; a refusal is plain text
        return std::pair{status, c.body()};
    };
    HealthReport r;
    r.leading = true;
    r.term = 1;
    r.stale_after = 1200ms;
    r.down = {NodeId{4}};

    CHECK(healthz().first == 503);  // nothing published yet
    r.at = monotonic_now();
    r.since_conclusive = 100ms;
    s.web->set_health(r);
    const auto [status, body] = healthz();
    CHECK(status == 200);
    CHECK(body.find("\"healthy\":true") != std::string::npos);
    CHECK(body.find("\"nodes_down\":[4]") != std::string::npos);
    CHECK(body.find(kSecret) == std::string::npos);  // read-only, asks for no secret and tells none

    r.since_conclusive = 1300ms;  // the monitor's snapshots cannot conclude
    s.web->set_health(r);
    CHECK(healthz().first == 503);
    r.since_conclusive = std::nullopt;  // none ever did
    s.web->set_health(r);
    CHECK(healthz().first == 503);
    r.since_conclusive = 100ms;
    r.at = monotonic_now() - 2s;  // the owner's loop stopped publishing
    s.web->set_health(r);
    const auto [silent, why] = healthz();
    CHECK(silent == 503);
    CHECK(why.find("loop has not reported") != std::string::npos);

    // The guards of every other page hold: a foreign Host gets nothing, and no POST.
    CHECK(healthz("GET /healthz HTTP/1.1\r\nHost: rebind.evil.example:" + std::to_string(s.port()) + "\r\n\r\n").first == 403);
    CHECK(healthz(post(s.port(), "/healthz", false)).first == 405);
    CHECK(s.greetings == 0);  // answered on the web thread, from the last report: the owner is not asked
}
