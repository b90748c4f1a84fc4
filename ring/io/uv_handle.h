// One owner per libuv handle. libuv handles cannot move and may be freed only in or after their
// close callback, so the handle lives in its own heap block: the owner clears `data`, calls
// uv_close, and the close callback deletes the block. Closing twice is harmless.
#pragma once

#include <system_error>
#include <utility>

#include <uv.h>

#include <fmt/format.h>

namespace ringwatch::io {

// A libuv failure as an exception whose message names the call: "uv_udp_bind 127.0.0.1:7101: address already in use".
inline std::system_error uv_error(int code, std::string_view what) {
    return std::system_error(std::error_code(-code, std::generic_category()), fmt::format("{}: {}", what, uv_strerror(code)));
}
inline void uv_check(int code, std::string_view what) {
    if (code < 0) throw uv_error(code, what);
}

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
