// The dashboard's web server on its own thread (see web_thread.h).
#include "monitor/io/web_thread.h"

#include <future>
#include <optional>

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
template <class... F>
struct Visitor : F... {
    using F::operator()...;
};
template <class... F>
Visitor(F...) -> Visitor<F...>;
}  // namespace

WebThread::WebThread(uv_loop_t* owner, const std::string& bind_address, std::vector<std::string> names, std::string secret,
                     std::vector<WebAsset> assets, Greeting greeting, Control control, ClientLimit per_client)
    : greeting_(std::move(greeting)), control_(std::move(control)), owner_wakeup_(owner, uv_async_init, [](uv_async_t* a) {
          if (a->data) static_cast<WebThread*>(a->data)->on_owner_wakeup();
      }) {
    owner_wakeup_.get()->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(owner_wakeup_.get()));  // the monitor's loop ends without waiting for it
    std::promise<int> started;
    std::future<int> port = started.get_future();
    thread_ = std::thread([this, bind_address, names = std::move(names), secret = std::move(secret), assets = std::move(assets), per_client,
                           started = std::move(started)]() mutable {
        UvLoop loop;
        struct Context {
            WebThread* self;
            WebServer* server = nullptr;
            bool stop = false;
        } context{this};
        UvHandle<uv_async_t> wakeup(loop.get(), uv_async_init, [](uv_async_t* a) {
            auto* c = static_cast<Context*>(a->data);
            if (!c || !c->server) return;
            c->self->on_web_wakeup(*c->server, c->stop);
            if (c->stop) uv_stop(a->loop);
        });
        wakeup.get()->data = &context;
        std::optional<WebServer> server;
        try {
            WebHooks hooks;
            hooks.want_greeting = [this](std::uint64_t page) {
                std::lock_guard lock(mutex_);
                to_owner_.push_back(WantGreeting{page});  // at most one per open page: bounded by the page caps
                uv_async_send(owner_wakeup_.get());
            };
            hooks.control = [this, &server](std::uint64_t request, ControlRequest r) {
                {
                    std::lock_guard lock(mutex_);
                    if (to_owner_.size() < kMaxToOwner) {
                        to_owner_.push_back(WantControl{request, std::move(r)});
                        uv_async_send(owner_wakeup_.get());
                        return;
                    }
                }
                server->answer_control(request, ControlAnswer{503, "the monitor has too many controls to answer: try again"});
            };
            hooks.health = [this] {
                std::optional<HealthReport> r;
                {
                    std::lock_guard lock(mutex_);
                    r = health_;
                }
                return judge_health(monotonic_now(), r);
            };
            server.emplace(loop.get(), bind_address, std::move(names), std::move(secret), std::move(assets), std::move(hooks), per_client);
        } catch (...) {
            started.set_exception(std::current_exception());
            return;
        }
        context.server = &*server;
        {
            std::lock_guard lock(mutex_);
            web_wakeup_ = wakeup.get();
        }
        started.set_value(server->port());
        uv_run(loop.get(), UV_RUN_DEFAULT);  // until Stop
        {
            std::lock_guard lock(mutex_);
            web_wakeup_ = nullptr;
        }
        context.server = nullptr;
        wakeup.reset();
        // libuv closes handles asynchronously: lws is told to stop (every connection closed), the loop
        // runs until lws's handles are closed, and only then can lws free its context.
        server->begin_shutdown();
        uv_run(loop.get(), UV_RUN_DEFAULT);
        server.reset();
        for (int i = 0; i < 16 && uv_loop_alive(loop.get()); ++i) uv_run(loop.get(), UV_RUN_NOWAIT);
    });
    try {
        port_ = port.get();
    } catch (...) {
        thread_.join();
        throw;
    }
}

WebThread::~WebThread() {
    push_to_web(Stop{});
    thread_.join();
    owner_wakeup_.get()->data = nullptr;
}

void WebThread::broadcast(std::string message) { push_to_web(Broadcast{std::move(message)}); }

void WebThread::set_health(HealthReport r) {
    std::lock_guard lock(mutex_);
    health_ = std::move(r);
}

void WebThread::push_to_web(ToWeb item) {
    std::lock_guard lock(mutex_);
    if (std::holds_alternative<Broadcast>(item) && to_web_.size() >= kMaxToWeb) {
        to_web_overflowed_ = true;  // the web thread is far behind: its pages will start afresh
    } else {
        to_web_.push_back(std::move(item));
    }
    if (web_wakeup_) uv_async_send(web_wakeup_);
}

void WebThread::on_owner_wakeup() {
    std::deque<ToOwner> asked;
    {
        std::lock_guard lock(mutex_);
        asked.swap(to_owner_);
    }
    for (auto& a : asked)
        std::visit(Visitor{[this](WantGreeting& g) {
                               push_to_web(Greet{g.page, greeting_()});
                           },
                           [this](WantControl& c) {
                               push_to_web(Answer{c.request, control_(c.control)});
                           }},
                   a);
}

void WebThread::on_web_wakeup(WebServer& server, bool& stop) {
    std::deque<ToWeb> items;
    bool overflowed = false;
    {
        std::lock_guard lock(mutex_);
        items.swap(to_web_);
        overflowed = std::exchange(to_web_overflowed_, false);
    }
    if (overflowed) server.close_pages();
    for (auto& item : items)
        std::visit(Visitor{[&](Broadcast& b) { server.broadcast(b.message); }, [&](Greet& g) { server.greet(g.page, g.messages); },
                           [&](Answer& a) { server.answer_control(a.request, a.answer); }, [&](Stop&) { stop = true; }},
                   item);
}

}  // namespace ringwatch::io
