// Commands from one-shot tools to nodes.
#include "ring/io/tool_client.h"

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
NodeId random_tool_id() {
    std::uint16_t r = 0;
    uv_check(uv_random(nullptr, nullptr, &r, sizeof r, 0, nullptr), "uv_random");
    return NodeId{static_cast<std::uint16_t>(kToolIdFirst + r % (kToolIdLast - kToolIdFirst + 1))};
}
sockaddr_storage any_address_like(const sockaddr_storage& a) { return *parse_address(a.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0"); }
}  // namespace

ToolClient::ToolClient(uv_loop_t* loop, NodeId node, const sockaddr_storage& node_address, LinkConfig link, std::optional<NodeId> self)
    : node_(node),
      link_(loop, self.value_or(random_tool_id()), any_address_like(node_address), link, new_incarnation()),
      timer_(loop, uv_timer_init),
      no_wait_(loop, uv_idle_init),
      last_look_(loop, uv_check_init) {
    timer_.get()->data = this;
    last_look_.get()->data = this;
    link_.add_peer(node, node_address);
    link_.on_deliver([this](NodeId, Bytes b) {
        Message m;
        if (decode_message(b, m) != MessageError::none) return;
        if (auto* ack = std::get_if<CommandAck>(&m); ack && ack->command_id == waiting_for_) finish(ack->ok);
        if (!std::holds_alternative<CommandAck>(m)) answer(std::move(m));
    });
}

void ToolClient::command(Message m, Duration timeout, Done done) {
    waiting_for_ = next_command_++;
    std::visit(
        [this](auto& v) {
            if constexpr (requires { v.command_id; }) v.command_id = waiting_for_;
        },
        m);
    done_ = std::move(done);
    link_.send_queued(node_, encode_message(m));
    arm_deadline(timeout);
}

void ToolClient::query(Message m, Duration timeout, std::function<void(std::optional<Message>)> answered) {
    answered_ = std::move(answered);
    link_.send_queued(node_, encode_message(m));
    arm_deadline(timeout);
}

void ToolClient::arm_deadline(Duration timeout) {
    uv_timer_start(
        timer_.get(),
        [](uv_timer_t* t) {
            if (auto* self = static_cast<ToolClient*>(t->data)) self->deadline_passed();
        },
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()), 0);
}

void ToolClient::answer(std::optional<Message> m) {
    if (!answered_) return;
    uv_timer_stop(timer_.get());
    auto a = std::move(answered_);
    answered_ = nullptr;
    a(std::move(m));
}

void ToolClient::deadline_passed() {
    uv_idle_start(no_wait_.get(), [](uv_idle_t*) {});
    uv_check_start(last_look_.get(), [](uv_check_t* c) {
        if (auto* self = static_cast<ToolClient*>(c->data)) self->give_up();
    });
}

void ToolClient::give_up() {
    uv_idle_stop(no_wait_.get());
    uv_check_stop(last_look_.get());
    link_.settle();  // what the last pass read, handled before anything is concluded
    finish(std::nullopt);
    answer(std::nullopt);
}

void ToolClient::finish(std::optional<bool> result) {
    if (!done_) return;
    uv_timer_stop(timer_.get());
    waiting_for_ = 0;
    Done d = std::move(done_);
    done_ = nullptr;
    d(result);
}

std::optional<bool> run_command(NodeId node, const sockaddr_storage& address, Message m, Duration timeout, LinkConfig link) {
    UvLoop loop;
    std::optional<bool> result;
    {
        ToolClient client(loop.get(), node, address, link);
        client.command(std::move(m), timeout, [&](std::optional<bool> r) {
            result = r;
            uv_stop(loop.get());
        });
        uv_run(loop.get(), UV_RUN_DEFAULT);
    }
    return result;
}

std::optional<Message> run_query(NodeId node, const sockaddr_storage& address, Message m, Duration timeout, LinkConfig link) {
    UvLoop loop;
    std::optional<Message> result;
    {
        ToolClient client(loop.get(), node, address, link);
        client.query(std::move(m), timeout, [&](std::optional<Message> r) {
            result = std::move(r);
            uv_stop(loop.get());
        });
        uv_run(loop.get(), UV_RUN_DEFAULT);
    }
    return result;
}

}  // namespace ringwatch::io
