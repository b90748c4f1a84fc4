// `monitor --http HOST:PORT`: the dashboard's HTTP side, by libwebsockets on the monitor's own libuv
// loop (no thread, no hand-written HTTP parser). It serves the page's files, streams the dashboard's
// messages to every open page as Server-Sent Events (GET /events), and takes the page's controls
// (POST /control/ACTION?secret=...&...) only with the per-run secret: a page from another site cannot
// know it, so it cannot use them. Slow pages never hold the loop up: each has its own bounded queue.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

struct lws;
struct lws_context;

namespace ringwatch::io {

struct WebAsset {
    std::string_view path;  // "/", "/app.js"
    std::string_view content_type;
    std::string_view body;
};

struct ControlRequest {
    std::string action;                        // inject, send, recover
    std::map<std::string, std::string> args;  // from the query string
};
struct ControlAnswer {
    int status = 202;   // 202 accepted (the outcome follows as a "control" event), 400 bad arguments
    std::string said;   // one line for the page
};

class WebServer {
public:
    using Greeting = std::function<std::vector<std::string>()>;
    using Control = std::function<ControlAnswer(const ControlRequest&)>;
    static constexpr std::size_t kMaxQueuedPerPage = 4 << 20;  // a page this far behind is let go
    static constexpr std::size_t kMaxPages = 32;

    // Listens at `bind_address` ("127.0.0.1:8080"; port 0: any free one). Throws std::runtime_error
    // naming the address when it cannot listen there.
    WebServer(uv_loop_t* loop, const std::string& bind_address, std::string secret, std::vector<WebAsset> assets, Greeting greeting,
              Control control);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    int port() const { return port_; }
    std::size_t pages() const;
    // Sends one message to every open page.
    void broadcast(const std::string& message);

    // libwebsockets' callback; public only so that the C callback can reach it.
    int on_callback(lws* wsi, int reason, void* in, std::size_t len);

private:
    struct Session;
    int begin(lws* wsi, std::string_view path);
    int answer(lws* wsi, Session& s, int status, std::string_view type, std::string body);
    int write_some(lws* wsi, Session& s);

    std::string secret_;
    std::vector<WebAsset> assets_;
    Greeting greeting_;
    Control control_;
    std::map<lws*, std::unique_ptr<Session>> sessions_;
    lws_context* context_ = nullptr;
    int port_ = 0;
};

// A fresh per-run secret for the controls (128 bits from the OS, hex).
std::string new_web_secret();

}  // namespace ringwatch::io
