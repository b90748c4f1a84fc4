// The dashboard's web server on a thread and a libuv loop of its own, so that nothing a web client
// does (thousands of idle connections, pages that never read) can hold up the monitor's loop, its
// snapshots or its verdicts. The monitor's side talks to it only through two queues:
//   - to the web thread: messages for the pages, greetings and control answers, in the order the
//     monitor made them (a page is greeted with the state at one point of that order and then
//     gets every message after it);
//   - to the monitor: a page's request for its greeting, and controls, each run on the monitor's
//     loop, where the state they read and change lives.
// Both are bounded: a web thread too far behind lets its pages go (they reconnect and are greeted
// afresh); controls beyond the bound are refused at once.
// /healthz goes through neither: the owner publishes a HealthReport now and then (set_health), and
// the web thread judges the latest one itself, so a stuck owner loop is answered too (503).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <uv.h>

#include "monitor/io/web_server.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

class WebThread {
public:
    using Greeting = std::function<std::vector<std::string>()>;
    using Control = std::function<ControlAnswer(const ControlRequest&)>;
    static constexpr std::size_t kMaxToWeb = 4096;  // messages not yet taken by the web thread
    static constexpr std::size_t kMaxToOwner = 64;  // greetings and controls not yet answered

    // Starts the thread and listens at `bind_address`; throws std::runtime_error naming it when it
    // cannot. `greeting` and `control` run on `owner`'s loop.
    WebThread(uv_loop_t* owner, const std::string& bind_address, std::vector<std::string> names, std::string secret, std::vector<WebAsset> assets,
              Greeting greeting, Control control, ClientLimit per_client = {});
    // Stops the web thread (its connections are closed) and waits for it.
    ~WebThread();
    WebThread(const WebThread&) = delete;
    WebThread& operator=(const WebThread&) = delete;

    int port() const { return port_; }
    // From the owner's loop: one message to every open page.
    void broadcast(std::string message);
    // From the owner's loop: what /healthz judges from now on (made at r.at, the owner's clock).
    void set_health(HealthReport r);

private:
    struct Broadcast {
        std::string message;
    };
    struct Greet {
        std::uint64_t page;
        std::vector<std::string> messages;
    };
    struct Answer {
        std::uint64_t request;
        ControlAnswer answer;
    };
    struct Stop {};
    using ToWeb = std::variant<Broadcast, Greet, Answer, Stop>;
    struct WantGreeting {
        std::uint64_t page;
    };
    struct WantControl {
        std::uint64_t request;
        ControlRequest control;
    };
    using ToOwner = std::variant<WantGreeting, WantControl>;

    void push_to_web(ToWeb item);
    void on_owner_wakeup();                             // on the owner's loop
    void on_web_wakeup(WebServer& server, bool& stop);  // on the web thread's loop

    Greeting greeting_;
    Control control_;
    std::mutex mutex_;
    std::deque<ToWeb> to_web_;
    bool to_web_overflowed_ = false;  // messages were dropped: the pages must start afresh
    std::deque<ToOwner> to_owner_;
    std::optional<HealthReport> health_;  // the latest published, under mutex_
    UvHandle<uv_async_t> owner_wakeup_;
    uv_async_t* web_wakeup_ = nullptr;  // lives on the web thread's loop while it runs
    int port_ = 0;
    std::thread thread_;
};

}  // namespace ringwatch::io
