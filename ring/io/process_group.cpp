// Spawning and watching child processes.
#include "ring/io/process_group.h"

#include <unistd.h>

#include <csignal>

namespace ringwatch::io {

struct ProcessGroup::Child {
    ProcessGroup* group;
    std::string name;
    bool exited = false;
    UvHandle<uv_process_t> process;
    UvHandle<uv_pipe_t> out;
    UvHandle<uv_pipe_t> err;
    std::string out_partial, err_partial;
    char buffer[4096];
};

ProcessGroup::ProcessGroup(uv_loop_t* loop, OnLine on_line, OnExit on_exit)
    : loop_(loop), on_line_(std::move(on_line)), on_exit_(std::move(on_exit)) {}

ProcessGroup::~ProcessGroup() {
    for (auto& c : children_) {
        if (!c->exited) uv_process_kill(c->process.get(), SIGKILL);
        c->process.get()->data = nullptr;
        if (c->out) c->out.get()->data = nullptr;
        if (c->err) c->err.get()->data = nullptr;
    }
}

std::string ProcessGroup::own_directory() {
    char path[4096];
    std::size_t size = sizeof path;
    uv_check(uv_exepath(path, &size), "uv_exepath");
    std::string p(path, size);
    return p.substr(0, p.rfind('/'));
}

std::string ProcessGroup::monitor_program() {
    // The installed name first: a directory like /usr/bin may hold an unrelated "monitor".
    const std::string dir = own_directory();
    const std::string installed = dir + "/ringwatch-monitor";
    return ::access(installed.c_str(), X_OK) == 0 ? installed : dir + "/monitor";
}

void ProcessGroup::spawn(const std::string& name, const std::vector<std::string>& argv) {
    auto child = std::make_unique<Child>();
    Child* c = child.get();
    c->group = this;
    c->name = name;
    c->out = UvHandle<uv_pipe_t>(loop_, uv_pipe_init, 0);
    c->err = UvHandle<uv_pipe_t>(loop_, uv_pipe_init, 0);
    c->out.get()->data = c;
    c->err.get()->data = c;

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(c->out.get());
    stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(c->err.get());
    uv_process_options_t opts{};
    opts.file = args[0];
    opts.args = args.data();
    opts.stdio = stdio;
    opts.stdio_count = 3;
    opts.exit_cb = [](uv_process_t* p, std::int64_t status, int signal) {
        auto* ch = static_cast<Child*>(p->data);
        if (!ch) return;
        ch->exited = true;
        if (ch->group->on_exit_) ch->group->on_exit_(ch->name, status, signal);
        ch->group->reap(ch);
    };
    // uv_spawn initialises the handle itself; UvHandle takes ownership of the block afterwards.
    auto* proc = new uv_process_t{};
    const int rc = uv_spawn(loop_, proc, &opts);
    if (rc < 0) {
        // A failed uv_spawn still initialised the handle: it must be closed, not just freed.
        uv_close(reinterpret_cast<uv_handle_t*>(proc), [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
        throw uv_error(rc, fmt::format("uv_spawn {}", argv[0]));
    }
    c->process = UvHandle<uv_process_t>::adopt(proc);
    proc->data = c;

    auto on_alloc = [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
        auto* ch = static_cast<Child*>(h->data);
        *buf = ch ? uv_buf_init(ch->buffer, sizeof ch->buffer) : uv_buf_init(nullptr, 0);
    };
    auto on_read = [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* ch = static_cast<Child*>(s->data);
        if (!ch) return;
        if (n < 0) {  // the child closed it (it exited): the pipe is closed here too, its descriptor freed
            uv_read_stop(s);
            (s == reinterpret_cast<uv_stream_t*>(ch->out.get()) ? ch->out : ch->err).reset();
            ch->group->reap(ch);
            return;
        }
        std::string& partial = s == reinterpret_cast<uv_stream_t*>(ch->out.get()) ? ch->out_partial : ch->err_partial;
        partial.append(buf->base, static_cast<std::size_t>(n));
        std::size_t pos;
        while ((pos = partial.find('\n')) != std::string::npos) {
            if (ch->group->on_line_) ch->group->on_line_(ch->name, std::string_view(partial).substr(0, pos));
            partial.erase(0, pos + 1);
        }
    };
    uv_read_start(reinterpret_cast<uv_stream_t*>(c->out.get()), on_alloc, on_read);
    uv_read_start(reinterpret_cast<uv_stream_t*>(c->err.get()), on_alloc, on_read);
    children_.push_back(std::move(child));
}

void ProcessGroup::reap(Child* c) {
    // Gone and both pipes closed: nothing of it is left to hear (a group that restarts children
    // would otherwise keep two descriptors and a handle for every death).
    if (!c->exited || c->out || c->err) return;
    children_.remove_if([c](const std::unique_ptr<Child>& p) { return p.get() == c; });
}

void ProcessGroup::terminate(int signal) {
    for (auto& c : children_)
        if (!c->exited) uv_process_kill(c->process.get(), signal);
}

std::size_t ProcessGroup::running() const {
    std::size_t n = 0;
    for (const auto& c : children_) n += c->exited ? 0 : 1;
    return n;
}

}  // namespace ringwatch::io
