// The dashboard's HTTP side, by libwebsockets on a libuv loop (no hand-written HTTP parser); see
// WebThread for the thread it runs on, so that no client can hold the monitor's loop up. It serves
// the page's files, streams the dashboard's messages to every open page as Server-Sent Events (GET
// /events), answers GET /healthz (monitor/core/health.h: no secret, nothing secret in it), and takes
// the page's controls (POST /control/ACTION?...) only with the per-run secret in the
// X-Ringwatch-Secret header: a page from another site cannot know it, so it cannot use them.
//
// Bounds, so that no client can exhaust it: connections in all (kMaxConnections) and per client
// address (ClientLimit; loopback clients share one address, so there only the bound in all holds),
// each closed when it has not sent a whole request within kIdleSeconds; pages in all (kMaxPages) plus pages of the
// operator (kMaxOperatorPages: a page that shows a ticket, which only a holder of the secret can
// get, so a crowd of anonymous pages cannot lock the operator out); and bytes queued per page (a
// page that stops reading is let go, see kMaxBacklogPerPage).
//
// The greeting of a new page and the controls are answered by the owner (the monitor's loop)
// asynchronously: the server asks through its hooks, the owner answers with greet() and
// answer_control().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <uv.h>

#include "monitor/core/health.h"
#include "ring/core/types.h"

struct lws;
struct lws_context;

namespace ringwatch::io {

struct WebAsset {
    std::string_view path;  // "/", "/app.js"
    std::string_view content_type;
    std::string_view body;
};

struct ControlRequest {
    std::string action;                       // inject, send, recover
    std::map<std::string, std::string> args;  // from the query string
};
struct ControlAnswer {
    int status = 202;  // 202 accepted (the outcome follows as a "control" event), 400 bad arguments
    std::string said;  // one line for the page
};

// Connections one client address may hold at once; beyond it, a new one is closed as it is accepted.
struct ClientLimit {
    std::size_t connections = 32;
    // Every local user connects from 127.0.0.1: a bound per address there would let one of them
    // lock the others (the operator) out.
    bool loopback_exempt = true;
};

struct WebHooks {
    // A page opened: greet(page, messages) with what it must know first.
    std::function<void(std::uint64_t page)> want_greeting;
    // A control with the right secret: answer_control(request, answer).
    std::function<void(std::uint64_t request, ControlRequest)> control;
    // GET /healthz, answered at once on the server's own thread (no secret: read-only; unset: 404).
    std::function<HealthAnswer()> health;
};

class WebServer {
public:
    static constexpr std::size_t kMaxConnections = 512;
    static constexpr unsigned kIdleSeconds = 5;
    static constexpr std::size_t kMaxPages = 32;
    static constexpr std::size_t kMaxOperatorPages = 8;
    // A page is let go when more than this is queued for it beyond its greeting, or when more than
    // kStalledBacklog is queued and it has taken nothing for kStallTime (a page that stopped reading).
    static constexpr std::size_t kMaxBacklogPerPage = 1 << 20;
    static constexpr std::size_t kStalledBacklog = 64 << 10;
    static constexpr Duration kStallTime = std::chrono::seconds(2);
    static constexpr std::size_t kMaxTickets = 16;
    static constexpr Duration kTicketLifetime = std::chrono::seconds(30);

    // Listens at `bind_address` ("127.0.0.1:8080"; port 0: any free one). Throws std::runtime_error
    // naming the address when it cannot listen there.
    // `names`: DNS names (lowercase) accepted in Host besides the address and localhost.
    WebServer(uv_loop_t* loop, const std::string& bind_address, std::vector<std::string> names, std::string secret, std::vector<WebAsset> assets,
              WebHooks hooks, ClientLimit per_client = {});
    // With libuv, lws frees its context in two steps: begin_shutdown() closes every connection and
    // lws's handles, then the loop must run until they are closed, then the destructor frees it.
    void begin_shutdown();
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    int port() const { return port_; }
    // Sends one message to every greeted page.
    void broadcast(const std::string& message);
    void greet(std::uint64_t page, const std::vector<std::string>& messages);
    void answer_control(std::uint64_t request, const ControlAnswer& answer);
    // Lets every page go (they reconnect and are greeted afresh): after messages were lost.
    void close_pages();

    // libwebsockets' callback; public only so that the C callback can reach it.
    int on_callback(lws* wsi, int reason, void* in, std::size_t len);
    // A connection just accepted: false to close it at once (its address holds too many).
    bool admit_connection(int fd, const sockaddr_storage& peer);

private:
    struct Session;
    int begin(lws* wsi, std::string_view path);
    int begin_events(lws* wsi, Session& s);
    int answer(lws* wsi, Session& s, int status, std::string_view type, std::string body);
    int write_some(lws* wsi, Session& s);
    std::string new_ticket();
    bool take_ticket(const std::string& ticket);
    std::pair<lws*, Session*> find(std::uint64_t id);

    std::vector<std::string> names_;
    std::string secret_;
    std::vector<WebAsset> assets_;
    WebHooks hooks_;
    std::map<lws*, std::unique_ptr<Session>> sessions_;
    std::map<std::uint64_t, lws*> by_id_;
    std::uint64_t next_id_ = 1;
    std::map<std::string, Instant> tickets_;  // -> when it lapses
    ClientLimit per_client_;
    std::map<int, std::string> client_of_fd_;  // the address of each connection counted against its client
    lws_context* context_ = nullptr;
    int port_ = 0;
};

// A fresh per-run secret for the controls (128 bits from the OS, hex).
std::string new_web_secret();

}  // namespace ringwatch::io
