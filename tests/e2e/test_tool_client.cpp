// A one-shot tool (ring status, inject, ...) over real UDP on 127.0.0.1, against a node endpoint
// that answers on a thread of its own.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include "ring/io/clock.h"
#include "ring/io/tool_client.h"

using namespace ringwatch;
using namespace ringwatch::io;
using namespace std::chrono_literals;

namespace {
constexpr NodeId kNode{3};

// A node's endpoint on its own loop and thread. It holds its answer to a StatusQuery until the test
// releases it, and says when the answer has gone out; or, with answer_at_once, answers every one as
// it comes.
class AnsweringNode {
public:
    explicit AnsweringNode(bool answer_at_once = false, LinkConfig link = {}) {
        thread_ = std::thread([this, answer_at_once, link] {
            UvLoop loop;
            EndpointDriver node(loop.get(), kNode, *parse_address("127.0.0.1:0"), link, new_incarnation());
            node.accept_tools(4);
            std::optional<std::pair<NodeId, std::uint64_t>> asked;
            node.on_deliver([&](NodeId from, Bytes b) {
                Message m;
                if (decode_message(b, m) != MessageError::none) return;
                if (const auto* q = std::get_if<StatusQuery>(&m)) {
                    if (answer_at_once) {
                        node.send_queued(from, encode_message(StatusReply{q->command_id, {{"answer", 42}}}));
                        return;
                    }
                    asked.emplace(from, q->command_id);
                    asked_ = true;
                }
            });
            struct Context {
                AnsweringNode* self;
                EndpointDriver* node;
                std::optional<std::pair<NodeId, std::uint64_t>>* asked;
                bool released = false;
            } context{this, &node, &asked};
            UvHandle<uv_async_t> release(loop.get(), uv_async_init, [](uv_async_t* a) {
                auto* c = static_cast<Context*>(a->data);
                if (!*c->asked) return;
                c->node->send_queued((*c->asked)->first, encode_message(StatusReply{(*c->asked)->second, {{"answer", 42}}}));
                c->released = true;  // sent at the end of this pass of the loop
            });
            release.get()->data = &context;
            // Runs at the start of the next pass: the answer went out in the one before.
            UvHandle<uv_prepare_t> after(loop.get(), uv_prepare_init);
            after.get()->data = &context;
            uv_prepare_start(after.get(), [](uv_prepare_t* p) {
                auto* c = static_cast<Context*>(p->data);
                if (c->released) c->self->sent_ = true;
            });
            UvHandle<uv_async_t> stop(loop.get(), uv_async_init, [](uv_async_t* a) { uv_stop(a->loop); });
            release_ = release.get();
            stop_ = stop.get();
            address_ = node.local_address();
            ready_ = true;
            uv_run(loop.get(), UV_RUN_DEFAULT);
        });
        while (!ready_) std::this_thread::yield();
    }
    ~AnsweringNode() {
        uv_async_send(stop_);
        thread_.join();
    }
    sockaddr_storage address() const { return address_; }
    bool asked() const { return asked_; }
    // Sends the answer held back; returns once it has gone out.
    void release() {
        uv_async_send(release_);
        while (!sent_) std::this_thread::yield();
    }

private:
    std::thread thread_;
    std::atomic<bool> ready_{false}, asked_{false}, sent_{false};
    uv_async_t* release_ = nullptr;
    uv_async_t* stop_ = nullptr;
    sockaddr_storage address_{};
};
}  // namespace

TEST_CASE("tool: an answer that arrived while the tool was starved past its deadline still counts", "[tool]") {
    AnsweringNode node;
    UvLoop loop;
    ToolClient tool(loop.get(), kNode, node.address(), LinkConfig{});
    std::optional<std::optional<Message>> result;
    tool.query(StatusQuery{0}, 300ms, [&](std::optional<Message> m) {
        result = std::move(m);
        uv_stop(loop.get());
    });
    // The loop turns until the node has the query (it holds its answer back meanwhile).
    while (!node.asked()) uv_run(loop.get(), UV_RUN_NOWAIT);
    REQUIRE_FALSE(result);
    // Then the tool is starved (stopped, or no CPU) past its deadline while the answer arrives and
    // waits in its socket.
    node.release();
    std::this_thread::sleep_for(400ms);  // the deadline, 300 ms after the query, has passed
    uv_run(loop.get(), UV_RUN_DEFAULT);
    REQUIRE(result);
    REQUIRE(*result);
    const auto* reply = std::get_if<StatusReply>(&**result);
    REQUIRE(reply);
    CHECK(reply->values == std::vector<std::pair<std::string, std::int64_t>>{{"answer", 42}});
}

TEST_CASE("tool: with no answer at all, the tool gives up at its deadline", "[tool]") {
    UvLoop loop;
    // A port nobody answers on: a socket bound and never read.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_storage a = *parse_address("127.0.0.1:0");
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(sockaddr_in)) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    std::optional<std::optional<Message>> result;
    {
        ToolClient tool(loop.get(), kNode, a, LinkConfig{});
        tool.query(StatusQuery{0}, 200ms, [&](std::optional<Message> m) {
            result = std::move(m);
            uv_stop(loop.get());
        });
        uv_run(loop.get(), UV_RUN_DEFAULT);
    }
    ::close(fd);
    REQUIRE(result);
    CHECK_FALSE(*result);
}

// Tool ids are drawn at random, and a node keeps a tool's link until it falls silent: the next run of
// a tool may draw the id of the last. It must be answered as any other run (here the node would keep
// the earlier link for a minute), not left unanswered until that link is let go.
TEST_CASE("tool: a run that draws the id of the run just before it is answered", "[tool]") {
    LinkConfig node_link;
    node_link.silent_after = std::chrono::seconds(60);
    AnsweringNode node(true, node_link);
    const NodeId id{0xF123};
    for (int run = 0; run < 3; ++run) {
        UvLoop loop;
        std::optional<std::optional<Message>> result;
        {
            ToolClient tool(loop.get(), kNode, node.address(), LinkConfig{}, id);
            tool.query(StatusQuery{0}, std::chrono::seconds(10), [&](std::optional<Message> m) {
                result = std::move(m);
                uv_stop(loop.get());
            });
            uv_run(loop.get(), UV_RUN_DEFAULT);
        }
        INFO("run " << run);
        REQUIRE(result);
        REQUIRE(*result);
        CHECK(std::holds_alternative<StatusReply>(**result));
    }
}
