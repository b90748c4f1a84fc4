// One owner per libuv handle. libuv handles cannot move and may be freed only in or after their
// close callback, so the handle lives in its own heap block: the owner clears `data`, calls
// uv_close, and the close callback deletes the block. Closing twice is harmless.
#pragma once

#include <system_error>
#include <utility>

#include <uv.h>

#include <fmt/format.h>

namespace ringwatch::io {

// A libuv failure as an exception whose message names the call and says what went wrong, once:
// "uv_timer_start: invalid argument".
class UvError : public std::system_error {
public:
    UvError(int code, std::string_view what)
        : std::system_error(std::error_code(-code, std::generic_category())), message_(fmt::format("{}: {}", what, uv_strerror(code))) {}
    const char* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
};
inline UvError uv_error(int code, std::string_view what) { return UvError(code, what); }
inline void uv_check(int code, std::string_view what) {
    if (code < 0) throw uv_error(code, what);
}

// Owns a loop. Declared before the handles that use it, it is destroyed after them, also when an
// exception unwinds: it runs the close callbacks (which free the handles) and closes the loop.
class UvLoop {
public:
    UvLoop() {
        const int rc = uv_loop_init(&loop_);
        if (rc < 0) throw std::system_error(std::error_code(-rc, std::generic_category()), "uv_loop_init");
    }
    ~UvLoop() {
        uv_run(&loop_, UV_RUN_NOWAIT);
        if (uv_loop_close(&loop_) != 0) fmt::print(stderr, "warning: libuv handles still open at exit\n");
    }
    UvLoop(const UvLoop&) = delete;
    UvLoop& operator=(const UvLoop&) = delete;
    uv_loop_t* get() { return &loop_; }

private:
    uv_loop_t loop_;
};

template <typename T>
class UvHandle {
public:
    UvHandle() = default;
    // Allocates the handle and runs its init function, e.g. UvHandle<uv_timer_t>(loop, uv_timer_init).
    template <typename Init, typename... Args>
    UvHandle(uv_loop_t* loop, Init init, Args&&... args) : handle_(new T{}) {
        const int rc = init(loop, handle_, std::forward<Args>(args)...);
        if (rc < 0) {
            delete handle_;  // never initialised: nothing for libuv to close
            handle_ = nullptr;
            throw uv_error(rc, "uv handle init");
        }
    }
    // Takes ownership of a handle initialised elsewhere (uv_spawn initialises its own).
    static UvHandle adopt(T* initialised) {
        UvHandle h;
        h.handle_ = initialised;
        return h;
    }
    ~UvHandle() { reset(); }
    UvHandle(UvHandle&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
    UvHandle& operator=(UvHandle&& o) noexcept {
        if (this != &o) {
            reset();
            handle_ = std::exchange(o.handle_, nullptr);
        }
        return *this;
    }
    UvHandle(const UvHandle&) = delete;
    UvHandle& operator=(const UvHandle&) = delete;

    T* get() const { return handle_; }
    uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }
    explicit operator bool() const { return handle_ != nullptr; }

    void reset() noexcept {
        if (!handle_) return;
        uv_handle_t* h = base();
        h->data = nullptr;  // no callback may reach the owner from here on
        if (!uv_is_closing(h)) uv_close(h, [](uv_handle_t* closed) { delete reinterpret_cast<T*>(closed); });
        handle_ = nullptr;
    }

private:
    T* handle_ = nullptr;
};

}  // namespace ringwatch::io
