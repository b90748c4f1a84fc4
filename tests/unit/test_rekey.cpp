// Key rotation: the command on the wire, one process's steps (which keys it sends under and
// accepts at each, the key file at the commit), and an endpoint's acceptance under two keys.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "ring/config/key_file.h"
#include "ring/config/key_rotation.h"
#include "ring/core/endpoint.h"
#include "ring/core/wire.h"

using namespace ringwatch;

namespace {
struct KeyDir {
    std::string dir;
    KeyDir() {
        char tmpl[] = "/tmp/ringwatch-rekey-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    ~KeyDir() { std::filesystem::remove_all(dir); }
    std::string make(const std::string& name) {
        const std::string path = dir + "/" + name;
        write_new_key(path);
        return path;
    }
};

RekeyCommand step(RekeyStep s, const AuthKey& key, const std::string& path = {}) { return RekeyCommand{1, s, key_fingerprint(key), path}; }
}  // namespace

TEST_CASE("rekey: the command survives the wire and its bounds are checked", "[rekey][messages]") {
    const RekeyCommand c{42, RekeyStep::prepare, 0x0123456789abcdefULL, "/etc/ringwatch/next.key"};
    Message m;
    REQUIRE(decode_message(encode_message(c), m) == MessageError::none);
    const auto& d = std::get<RekeyCommand>(m);
    CHECK(d.command_id == 42);
    CHECK(d.step == RekeyStep::prepare);
    CHECK(d.fingerprint == c.fingerprint);
    CHECK(d.path == c.path);
    CHECK(is_driver_message(encode_message(c)));
    CHECK_FALSE(is_driver_message(encode_message(RingQuery{})));
    Bytes bad = encode_message(RekeyCommand{1, RekeyStep::abort, 0, std::string(kMaxKeyPathBytes + 1, 'x')});
    CHECK(decode_message(bad, m) == MessageError::too_long);
    bad = encode_message(c);
    bad[9] = 5;  // no such step
    CHECK(decode_message(bad, m) == MessageError::bad_value);
}

TEST_CASE("rekey: a key's fingerprint names it and no other", "[rekey][auth]") {
    AuthKey a, b;
    b.bytes[31] = 1;
    CHECK(key_fingerprint(a) == key_fingerprint(a));
    CHECK(key_fingerprint(a) != key_fingerprint(b));
}

TEST_CASE("rekey: prepare accepts both keys, switch sends under the new one, commit forgets the old one", "[rekey]") {
    KeyDir d;
    const std::string configured = d.make("ring.key"), next_path = d.make("next.key");
    const AuthKey old_key = read_key_file(configured), new_key = read_key_file(next_path);
    KeyRotation r(configured, old_key);
    CHECK(*r.send_key() == old_key);
    CHECK_FALSE(r.accepted_too());

    SECTION("the whole rotation") {
        AuthKey other;
        CHECK_FALSE(r.apply(step(RekeyStep::prepare, other, next_path)).ok);  // the file holds another key than the tool's
        CHECK_FALSE(r.accepted_too());
        CHECK_FALSE(r.apply(step(RekeyStep::switch_over, new_key)).ok);  // never prepared
        CHECK(*r.send_key() == old_key);

        REQUIRE(r.apply(step(RekeyStep::prepare, new_key, next_path)).ok);
        CHECK(*r.send_key() == old_key);
        CHECK(*r.accepted_too() == new_key);
        CHECK_FALSE(r.apply(step(RekeyStep::commit, new_key)).ok);  // not switched yet: the old key is still sent

        REQUIRE(r.apply(step(RekeyStep::switch_over, new_key)).ok);
        CHECK(*r.send_key() == new_key);
        CHECK(*r.accepted_too() == old_key);  // peers not switched yet still send under it

        const auto o = r.apply(step(RekeyStep::commit, new_key));
        REQUIRE(o.ok);
        CHECK_THAT(o.said, Catch::Contains("written to " + configured));
        CHECK(*r.send_key() == new_key);
        CHECK_FALSE(r.accepted_too());
        CHECK(read_key_file(configured) == new_key);  // a restart reads the new key
        struct stat st {};
        REQUIRE(::stat(configured.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);

        // Run again after an interruption: every step says it is done already.
        CHECK(r.apply(step(RekeyStep::prepare, new_key, next_path)).ok);
        CHECK(r.apply(step(RekeyStep::switch_over, new_key)).ok);
        CHECK(r.apply(step(RekeyStep::commit, new_key)).ok);
        CHECK_FALSE(r.accepted_too());
    }
    SECTION("an abort after the switch goes back to the old key alone") {
        REQUIRE(r.apply(step(RekeyStep::prepare, new_key, next_path)).ok);
        REQUIRE(r.apply(step(RekeyStep::switch_over, new_key)).ok);
        REQUIRE(r.apply(step(RekeyStep::abort, new_key)).ok);
        CHECK(*r.send_key() == old_key);
        CHECK_FALSE(r.accepted_too());
        CHECK(read_key_file(configured) == old_key);
    }
    SECTION("a key file others can read is refused, naming it") {
        ::chmod(next_path.c_str(), 0644);
        const auto o = r.apply(step(RekeyStep::prepare, new_key, next_path));
        CHECK_FALSE(o.ok);
        CHECK_THAT(o.said, Catch::Contains(next_path) && Catch::Contains("chmod 600"));
        CHECK_FALSE(r.accepted_too());
    }
    SECTION("a ring without a key has nothing to rotate") {
        KeyRotation none("", std::nullopt);
        CHECK_FALSE(none.apply(step(RekeyStep::prepare, new_key, next_path)).ok);
        CHECK_FALSE(none.send_key());
    }
}

TEST_CASE("rekey: an endpoint accepts a second key only while told to", "[rekey][endpoint]") {
    AuthKey old_key, new_key;
    old_key.bytes[0] = 1;
    new_key.bytes[0] = 2;
    LinkConfig config;
    config.key = old_key;
    Endpoint e(config, NodeId{1}, Incarnation{100});
    auto bad_macs = [&] { return e.stats().decode_errors[static_cast<std::size_t>(wire::DecodeError::bad_mac)]; };
    auto datagram_under = [](const AuthKey& k) {
        wire::FrameHeader h;
        h.src = NodeId{7};  // no link: dropped as unknown_peer once authenticated
        h.dst = NodeId{1};
        h.counter = 1;
        h.tsval = 1;
        Bytes out;
        wire::encode_frame(h, {}, out, &k);
        return out;
    };
    e.on_datagram(Instant{}, datagram_under(new_key));
    CHECK(bad_macs() == 1);
    e.set_keys(old_key, new_key);  // prepared
    e.on_datagram(Instant{}, datagram_under(new_key));
    e.on_datagram(Instant{}, datagram_under(old_key));
    CHECK(bad_macs() == 1);
    CHECK(e.stats().unknown_peer == 2);
    e.set_keys(new_key, std::nullopt);  // committed
    e.on_datagram(Instant{}, datagram_under(old_key));
    CHECK(bad_macs() == 2);
    e.on_datagram(Instant{}, datagram_under(new_key));
    CHECK(e.stats().unknown_peer == 3);
}

TEST_CASE("key file: read through one descriptor with a size cap, special files refused at once", "[rekey][key_file]") {
    KeyDir d;
    const std::string good = d.make("ring.key");
    const AuthKey key = read_key_file(good);
    auto write_file = [&](const std::string& name, const std::string& text) {
        const std::string path = d.dir + "/" + name;
        std::FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        ::chmod(path.c_str(), 0600);
        return path;
    };
    auto error_of = [](const std::string& path) {
        try {
            read_key_file(path);
        } catch (const KeyFileError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::string hex;
    {
        std::FILE* f = std::fopen(good.c_str(), "r");
        char buf[65] = {};
        REQUIRE(std::fread(buf, 1, 64, f) == 64);
        std::fclose(f);
        hex.assign(buf, 64);
    }
    // Whitespace around the key is fine; anything else beside it is not.
    CHECK(read_key_file(write_file("spaced.key", "  \n" + hex + "\r\n\n")) == key);
    CHECK(error_of(write_file("two.key", hex + " " + hex + "\n")).find("must hold 64 hex digits and nothing else") != std::string::npos);
    CHECK(error_of(write_file("short.key", hex.substr(1) + "\n")).find("must hold 64 hex digits") != std::string::npos);
    // A huge file is refused from its first kilobyte, not read whole.
    const std::string huge = write_file("huge.key", std::string(8 << 20, 'a'));
    CHECK(error_of(huge) == huge + " is larger than 1024 bytes: not a key file (it must hold 64 hex digits and nothing else)");
    // A FIFO (nobody writing) is refused at once, not waited on.
    const std::string fifo = d.dir + "/fifo.key";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(error_of(fifo) == fifo + " is not a regular file");
    CHECK(error_of(d.dir) == d.dir + " is not a regular file");
    CHECK(error_of(d.dir + "/missing.key").find("cannot read " + d.dir + "/missing.key: No such file or directory") == 0);
    const std::string open_to_all = write_file("open.key", hex + "\n");
    ::chmod(open_to_all.c_str(), 0644);
    CHECK(error_of(open_to_all).find("is readable or writable by group or others (mode 644)") != std::string::npos);
}
