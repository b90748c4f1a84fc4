// SIGHUP never stops a program: a logrotate's postrotate, `systemctl reload` or a closed terminal
// must not become a token loss. Our logs go to stdout or stderr, which whoever collects them
// (journald, `ring up`, a shell's redirection) reopens itself; the program says so and carries on.
#pragma once

#include <csignal>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "ring/io/log.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

class CarryOnAfterHangup {
public:
    // `also`: what the program does besides (`ring up` passes the signal on to its children).
    CarryOnAfterHangup(uv_loop_t* loop, std::string name, std::function<void()> also = {})
        : log_(std::move(name)), also_(std::move(also)), signal_(loop, uv_signal_init) {
        signal_.get()->data = this;
        uv_signal_start(
            signal_.get(),
            [](uv_signal_t* s, int) {
                if (auto* self = static_cast<CarryOnAfterHangup*>(s->data)) self->on_hangup();
            },
            SIGHUP);
        uv_unref(signal_.base());  // it keeps no loop alive
    }
    CarryOnAfterHangup(const CarryOnAfterHangup&) = delete;
    CarryOnAfterHangup& operator=(const CarryOnAfterHangup&) = delete;

private:
    void on_hangup() {
        try {
            log_.log("SIGHUP: carrying on (logs go to stdout and stderr: nothing of ours to reopen)");
        } catch (const std::exception&) {
            // A hung-up terminal takes no more output (EIO): the line is lost, the program is not.
        }
        if (also_) also_();
    }

    Logger log_;
    std::function<void()> also_;
    UvHandle<uv_signal_t> signal_;
};

}  // namespace ringwatch::io
