// Child processes for `ring up` and `ring demo`: spawned with libuv, their stdout and stderr read
// line by line and handed to a callback (by default printed with a "[name] " prefix), their exits
// reported, never restarted silently. terminate() sends SIGTERM to every child still running.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "ring/io/uv_handle.h"

namespace ringwatch::io {

class ProcessGroup {
public:
    using OnLine = std::function<void(const std::string& name, std::string_view line)>;
    using OnExit = std::function<void(const std::string& name, std::int64_t status, int signal)>;

    ProcessGroup(uv_loop_t* loop, OnLine on_line, OnExit on_exit);
    ~ProcessGroup();
    ProcessGroup(const ProcessGroup&) = delete;
    ProcessGroup& operator=(const ProcessGroup&) = delete;

    // Throws std::system_error naming the program when it cannot be started.
    void spawn(const std::string& name, const std::vector<std::string>& argv);
    void terminate(int signal = SIGTERM);
    std::size_t running() const;

    // The directory of this executable (to find `ring` and `monitor` beside it).
    static std::string own_directory();
    // The monitor program beside this one: `monitor` in a build tree, `ringwatch-monitor` where
    // installed (its name in /usr/bin, where a bare "monitor" would be too general).
    static std::string monitor_program();

private:
    struct Child;
    void reap(Child* c);
    uv_loop_t* loop_;
    OnLine on_line_;
    OnExit on_exit_;
    std::list<std::unique_ptr<Child>> children_;
};

}  // namespace ringwatch::io
