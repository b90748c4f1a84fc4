// The dashboard's HTTP side on libwebsockets (its libuv event library, on the loop it is given).
#include "monitor/io/web_server.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <libwebsockets.h>

#include "ring/io/address.h"
#include "ring/io/clock.h"

namespace ringwatch::io {

struct WebServer::Session {
    std::uint64_t id = 0;                        // this request's, for the owner's asynchronous answers
    bool events = false;                         // an SSE stream (never ends); otherwise one response
    bool operator_page = false;                  // opened with a ticket: counted against kMaxOperatorPages
    bool greeted = false;                        // its greeting is queued: broadcasts follow it
    std::size_t allowance = kMaxBacklogPerPage;  // bytes it may fall behind before it is let go
    Instant last_progress;                       // when it last took bytes (or was greeted)
    std::string out;                             // bytes not yet written
    std::size_t written = 0;
    bool body_follows = false;     // a POST with Content-Length: answered once lws has read it
    bool control_pending = false;  // the owner has the control and has not answered yet
    bool answer_when_writable = false;
    std::optional<std::pair<int, std::string>> deferred;  // an answer waiting for the above
};

namespace {

constexpr std::size_t kChunk = 16 * 1024;

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
    lws_context* context = lws_get_context(wsi);
    auto* server = context ? static_cast<WebServer*>(lws_context_user(context)) : nullptr;
    if (!server) return lws_callback_http_dummy(wsi, reason, nullptr, in, len);
    if (reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION) {  // on the listening socket's wsi
        const auto* args = static_cast<const lws_filter_network_conn_args*>(user);
        return args && !server->admit_connection(static_cast<int>(args->accept_fd), args->cli_addr) ? -1 : 0;
    }
    return server->on_callback(wsi, reason, in, len);
}

const lws_protocols kProtocols[] = {
    {"http", callback, 0, 0, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

// lws says what it thinks on stderr; a monitor says it once, in its own words.
void quiet_log(int, const char*) {}

// Binding first with a plain socket gives a clear reason ("address already in use") where lws
// would only log its own; the socket is closed again before lws binds the same address.
void check_can_listen(const sockaddr_storage& addr, const std::string& text) {
    const int fd = ::socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error(fmt::format("--http {}: {}", text, std::strerror(errno)));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const socklen_t size = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), size);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error(fmt::format("--http {}: cannot listen there ({})", text, std::strerror(err)));
}

// A request header by name ("x-ringwatch-secret:"), or empty.
std::string header(lws* wsi, const char* name_colon) {
    const int n = lws_hdr_custom_length(wsi, name_colon, static_cast<int>(std::strlen(name_colon)));
    if (n <= 0 || n > 1024) return {};
    std::string v(static_cast<std::size_t>(n) + 1, '\0');
    if (lws_hdr_custom_copy(wsi, v.data(), n + 1, name_colon, static_cast<int>(std::strlen(name_colon))) < 0) return {};
    v.resize(static_cast<std::size_t>(n));
    return v;
}

std::string token_header(lws* wsi, lws_token_indexes t) {
    const int n = lws_hdr_total_length(wsi, t);
    if (n <= 0 || n > 1024) return {};
    std::string v(static_cast<std::size_t>(n) + 1, '\0');
    if (lws_hdr_copy(wsi, v.data(), n + 1, t) < 0) return {};
    v.resize(static_cast<std::size_t>(n));
    return v;
}

// DNS rebinding reaches a page only under a DNS name the attacker controls: the Host a browser
// sends is then that name. So a Host is accepted if it names this server by address (an IP
// literal with our port: no name to rebind), as localhost, or by a name the operator configured.
bool host_allowed(std::string_view host, int port, const std::vector<std::string>& names) {
    std::string_view name_part = host;
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos && !host.ends_with(']')) {
        if (host.substr(colon + 1) != std::to_string(port)) return false;
        name_part = host.substr(0, colon);
    } else if (port != 80) {
        return false;  // a browser leaves the port out only when it is HTTP's own
    }
    std::string name(name_part);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "localhost" || std::find(names.begin(), names.end(), name) != names.end()) return true;
    in_addr a4{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, name.c_str(), &a4) == 1) return true;
    return name.size() > 2 && name.front() == '[' && name.back() == ']' && ::inet_pton(AF_INET6, name.substr(1, name.size() - 2).c_str(), &a6) == 1;
}

std::string query_arg(lws* wsi, const char* name_eq) {
    char buf[1200];
    const char* v = lws_get_urlarg_by_name(wsi, name_eq, buf, sizeof buf);
    return v ? std::string(v) : std::string();
}

// Every answer is what its Content-Type says, never sniffed into something else (a script).
int add_nosniff(lws* wsi, unsigned char** p, unsigned char* end) {
    return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("x-content-type-options:"),
                                       reinterpret_cast<const unsigned char*>("nosniff"), 7, p, end);
}

// Compares without an early exit: how long a wrong secret took says nothing of the right one.
bool same_secret(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a.empty()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

std::string new_web_secret() { return fmt::format("{:016x}{:016x}", random_u64(), random_u64()); }

WebServer::WebServer(uv_loop_t* loop, const std::string& bind_address, std::vector<std::string> names, std::string secret,
                     std::vector<WebAsset> assets, WebHooks hooks, ClientLimit per_client)
    : names_(std::move(names)), secret_(std::move(secret)), assets_(std::move(assets)), hooks_(std::move(hooks)), per_client_(per_client) {
    const auto addr = parse_address(bind_address);
    if (!addr || addr->ss_family != AF_INET)
        throw std::runtime_error(fmt::format("--http {}: not an IPv4 HOST:PORT (e.g. 127.0.0.1:8080)", bind_address));
    check_can_listen(*addr, bind_address);
    const std::string host = bind_address.substr(0, bind_address.rfind(':'));
    const int port = ntohs(reinterpret_cast<const sockaddr_in*>(&*addr)->sin_port);

    lws_set_log_level(0, quiet_log);
    void* loops[] = {loop};
    lws_context_creation_info info{};
    info.port = port;
    info.iface = host.c_str();
    info.protocols = kProtocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.user = this;
    // Beyond the bound, lws accepts nothing more (new connections wait in the kernel's queue until
    // one is let go); a connection that has not sent a whole request within kIdleSeconds (a new
    // one, or one kept alive between requests) is closed.
    info.fd_limit_per_thread = static_cast<unsigned>(kMaxConnections);
    info.timeout_secs = kIdleSeconds;
    info.timeout_secs_ah_idle = kIdleSeconds;
    info.keepalive_timeout = static_cast<int>(kIdleSeconds);
    context_ = lws_create_context(&info);
    if (!context_) throw std::runtime_error(fmt::format("--http {}: the web server could not start", bind_address));
    lws_vhost* vhost = lws_get_vhost_by_name(context_, "default");
    port_ = vhost ? lws_get_vhost_listen_port(vhost) : port;
}

void WebServer::begin_shutdown() {
    if (context_) lws_context_destroy(context_);  // the first step: lws's handles start closing
}

WebServer::~WebServer() {
    sessions_.clear();
    by_id_.clear();
    // The second step (or the only one, if the owner skipped begin_shutdown: then lws's handles
    // close when the loop next turns, and the context may outlive the loop).
    if (context_) lws_context_destroy(context_);
}

bool WebServer::admit_connection(int fd, const sockaddr_storage& peer) {
    client_of_fd_.erase(fd);                     // a number the kernel gave again: whatever held it before is gone
    if (peer.ss_family != AF_INET) return true;  // the server listens on IPv4 only
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    if (per_client_.loopback_exempt && (ntohl(in.sin_addr.s_addr) >> 24) == 127) return true;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    const std::string client(text);
    std::size_t held = 0;
    for (const auto& [f, c] : client_of_fd_) held += c == client;
    if (held >= per_client_.connections) return false;
    client_of_fd_[fd] = client;
    return true;
}

std::pair<lws*, WebServer::Session*> WebServer::find(std::uint64_t id) {
    const auto it = by_id_.find(id);
    if (it == by_id_.end()) return {nullptr, nullptr};
    const auto s = sessions_.find(it->second);
    if (s == sessions_.end() || s->second->id != id) return {nullptr, nullptr};
    return {it->second, s->second.get()};
}

void WebServer::broadcast(const std::string& message) {
    const std::string frame = fmt::format("data: {}\n\n", message);
    const Instant now = monotonic_now();
    for (auto& [wsi, s] : sessions_) {
        if (!s->events || !s->greeted) continue;  // a page not greeted yet gets this in its greeting
        const std::size_t behind = s->out.size() - s->written;
        if (behind > s->allowance || (behind > kStalledBacklog && now - s->last_progress > kStallTime)) {
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);  // a page that stopped reading
            continue;
        }
        s->out += frame;
        lws_callback_on_writable(wsi);
    }
}

void WebServer::greet(std::uint64_t page, const std::vector<std::string>& messages) {
    const auto [wsi, s] = find(page);
    if (!s || !s->events || s->greeted) return;
    for (const auto& m : messages) s->out += fmt::format("data: {}\n\n", m);
    s->allowance = s->out.size() + kMaxBacklogPerPage;
    s->last_progress = monotonic_now();
    s->greeted = true;
    lws_callback_on_writable(wsi);
}

void WebServer::answer_control(std::uint64_t request, const ControlAnswer& a) {
    const auto [wsi, s] = find(request);
    if (!s || !s->control_pending) return;  // the client has gone
    s->control_pending = false;
    s->deferred.emplace(a.status, a.said + "\n");
    if (s->body_follows) return;  // answered when the body is read
    s->answer_when_writable = true;
    lws_callback_on_writable(wsi);
}

void WebServer::close_pages() {
    for (auto& [wsi, s] : sessions_)
        if (s->events) lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

std::string WebServer::new_ticket() {
    const Instant now = monotonic_now();
    std::erase_if(tickets_, [now](const auto& t) { return t.second <= now; });
    if (tickets_.size() >= kMaxTickets)  // the one lapsing soonest makes room
        tickets_.erase(std::min_element(tickets_.begin(), tickets_.end(), [](const auto& a, const auto& b) { return a.second < b.second; }));
    std::string ticket = new_web_secret();
    tickets_[ticket] = now + kTicketLifetime;
    return ticket;
}

bool WebServer::take_ticket(const std::string& ticket) {
    const Instant now = monotonic_now();
    std::erase_if(tickets_, [now](const auto& t) { return t.second <= now; });
    for (auto it = tickets_.begin(); it != tickets_.end(); ++it) {
        if (same_secret(it->first, ticket)) {
            tickets_.erase(it);  // once only
            return true;
        }
    }
    return false;
}

int WebServer::on_callback(lws* wsi, int reason, void* in, std::size_t len) {
    switch (reason) {
        case LWS_CALLBACK_HTTP: return begin(wsi, std::string_view(static_cast<const char*>(in)));
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return -1;  // a WebSocket upgrade: the dashboard uses none, so none is kept open
        case LWS_CALLBACK_HTTP_WRITEABLE: {
            const auto it = sessions_.find(wsi);
            if (it == sessions_.end()) return -1;
            Session& s = *it->second;
            if (s.answer_when_writable && s.deferred) {
                s.answer_when_writable = false;
                auto [status, body] = std::move(*s.deferred);
                s.deferred.reset();
                return answer(wsi, s, status, "text/plain; charset=utf-8", std::move(body));
            }
            return write_some(wsi, s);
        }
        case LWS_CALLBACK_HTTP_BODY: return 0;  // a control's body, if any, is not read: its arguments are in the query
        case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
            // A POST with a body (even an empty one: Content-Length: 0) is answered once lws has
            // read it; an answer written earlier can be lost.
            const auto it = sessions_.find(wsi);
            if (it == sessions_.end()) return 0;
            Session& s = *it->second;
            s.body_follows = false;
            if (!s.deferred || s.control_pending) return 0;  // the owner's answer is still to come
            auto [status, body] = std::move(*s.deferred);
            s.deferred.reset();
            return answer(wsi, s, status, "text/plain; charset=utf-8", std::move(body));
        }
        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        case LWS_CALLBACK_WSI_DESTROY: {  // whichever comes, a connection gone is never written to again
            // Its socket is still open here (not at WSI_DESTROY): the connection no longer counts for its client.
            if (reason == LWS_CALLBACK_CLOSED_HTTP) client_of_fd_.erase(static_cast<int>(lws_get_socket_fd(wsi)));
            if (const auto it = sessions_.find(wsi); it != sessions_.end()) {
                by_id_.erase(it->second->id);
                sessions_.erase(it);
            }
            return reason == LWS_CALLBACK_CLOSED_HTTP ? 0 : lws_callback_http_dummy(wsi, static_cast<lws_callback_reasons>(reason), nullptr, in, len);
        }
        default: return lws_callback_http_dummy(wsi, static_cast<lws_callback_reasons>(reason), nullptr, in, len);
    }
}

int WebServer::begin(lws* wsi, std::string_view path) {
    auto& slot = sessions_[wsi];
    if (slot) by_id_.erase(slot->id);  // a kept-alive connection's next request starts afresh
    slot = std::make_unique<Session>();
    Session& s = *slot;
    s.id = next_id_++;
    by_id_[s.id] = wsi;
    const bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    s.body_follows = post && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
    const std::string host = token_header(wsi, WSI_TOKEN_HOST);
    if (!host_allowed(host, port_, names_))
        return answer(wsi, s, HTTP_STATUS_FORBIDDEN, "text/plain",
                      "this server answers to its own address, localhost and the names in monitor.http_names only\n");
    if (path.starts_with("/control/")) {
        if (!post) return answer(wsi, s, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain", "controls take POST\n");
        // A browser says where a request comes from: another site's page may not use the controls.
        if (const std::string origin = token_header(wsi, WSI_TOKEN_ORIGIN); !origin.empty() && origin != "http://" + host)
            return answer(wsi, s, HTTP_STATUS_FORBIDDEN, "text/plain", "controls are taken from this server's own page only\n");
        if (!query_arg(wsi, "secret=").empty())
            return answer(wsi, s, HTTP_STATUS_FORBIDDEN, "text/plain",
                          "the secret goes in the X-Ringwatch-Secret header, never in a URL (it would end up in logs and history)\n");
        if (!same_secret(header(wsi, "x-ringwatch-secret:"), secret_))
            return answer(wsi, s, HTTP_STATUS_FORBIDDEN, "text/plain", "the controls need this run's secret (the URL the monitor printed)\n");
        // The operator's page asks for a ticket to open its event stream with (EventSource cannot
        // send a header): it may then use a slot no anonymous page can take.
        if (path == "/control/ticket") return answer(wsi, s, HTTP_STATUS_OK, "text/plain", new_ticket() + "\n");
        ControlRequest r{std::string(path.substr(9)), {}};
        for (const char* name : {"node", "kind", "to", "payload", "mode"})
            if (std::string v = query_arg(wsi, fmt::format("{}=", name).c_str()); !v.empty()) r.args[name] = std::move(v);
        s.control_pending = true;
        hooks_.control(s.id, std::move(r));  // answered by answer_control()
        return 0;
    }
    if (post) return answer(wsi, s, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain", "only /control/ takes POST\n");
    if (path == "/events") return begin_events(wsi, s);
    if (path == "/healthz" && hooks_.health) {
        HealthAnswer h = hooks_.health();
        return answer(wsi, s, h.status, "application/json", std::move(h.body));
    }
    for (const auto& a : assets_)
        if (a.path == path || (path == "/index.html" && a.path == "/")) return answer(wsi, s, HTTP_STATUS_OK, a.content_type, std::string(a.body));
    return answer(wsi, s, HTTP_STATUS_NOT_FOUND, "text/plain", "no such page\n");  // the path is not echoed back
}

int WebServer::begin_events(lws* wsi, Session& s) {
    std::size_t anonymous = 0, operators = 0;
    for (const auto& [w, other] : sessions_) {
        if (!other->events) continue;
        (other->operator_page ? operators : anonymous) += 1;
    }
    const std::string ticket = query_arg(wsi, "ticket=");
    const bool with_ticket = !ticket.empty() && take_ticket(ticket);
    if (with_ticket && operators < kMaxOperatorPages) {
        s.operator_page = true;
    } else if (anonymous >= kMaxPages) {
        return answer(wsi, s, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain", "too many pages open\n");
    }
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("cache-control:"), reinterpret_cast<const unsigned char*>("no-store"),
                                    8, &p, end) ||
        add_nosniff(wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_http_mark_sse(wsi);
    s.events = true;
    hooks_.want_greeting(s.id);  // answered by greet()
    return 0;
}

int WebServer::answer(lws* wsi, Session& s, int status, std::string_view type, std::string body) {
    if (s.body_follows) {  // answered at LWS_CALLBACK_HTTP_BODY_COMPLETION (always plain text)
        s.deferred.emplace(status, std::move(body));
        return 0;
    }
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    const std::string content_type(type);
    if (lws_add_http_common_headers(wsi, static_cast<unsigned>(status), content_type.c_str(), body.size(), &p, end) ||
        lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("cache-control:"), reinterpret_cast<const unsigned char*>("no-store"),
                                    8, &p, end) ||
        add_nosniff(wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    s.out = std::move(body);
    s.written = 0;
    if (s.out.empty()) return lws_http_transaction_completed(wsi) ? -1 : 0;
    lws_callback_on_writable(wsi);
    return 0;
}

int WebServer::write_some(lws* wsi, Session& s) {
    if (s.written >= s.out.size()) return 0;
    const std::size_t n = std::min(kChunk, s.out.size() - s.written);
    const bool last = !s.events && s.written + n == s.out.size();
    std::vector<unsigned char> buf(LWS_PRE + n);
    std::memcpy(buf.data() + LWS_PRE, s.out.data() + s.written, n);
    if (lws_write(wsi, buf.data() + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < static_cast<int>(n)) return -1;
    s.written += n;
    s.last_progress = monotonic_now();
    if (last) return lws_http_transaction_completed(wsi) ? -1 : 0;
    if (s.written == s.out.size()) {
        s.out.clear();
        s.written = 0;
    } else {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

}  // namespace ringwatch::io
