// The state directory against an outsider and a failing disk: nobody else's directory is used,
// nothing is followed through a link or read unbounded, and a failed write is retried, the state
// said stale meanwhile.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ring/io/state_store.h"
#include "ring/io/state_writer.h"

using namespace ringwatch;
using namespace ringwatch::io;
using namespace std::chrono_literals;

namespace {

struct TempDir {
    std::string dir;
    TempDir() {
        char tmpl[] = "/tmp/ringwatch-state-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(dir); }
};

std::string error_of(const std::string& dir) {
    try {
        StateStore s(dir);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "no error";
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

SavedSnapshot saved(std::uint64_t id) {
    SavedSnapshot s;
    s.id = SnapshotId{id};
    s.token.epoch = Epoch{3};
    return s;
}

}  // namespace

TEST_CASE("state dir: a directory others may write in, or that is not ours, or a link, is refused with one line", "[state_dir]") {
    TempDir t;
    const std::string node = t.dir + "/node-1";
    {
        StateStore fine(node);  // made private
        struct stat st {};
        REQUIRE(::stat(node.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0700);
    }
    ::chmod(node.c_str(), 0770);
    CHECK(error_of(node) == "state directory " + node + " is writable by group or others (mode 770); make it private: chmod 700 " + node);
    ::chmod(node.c_str(), 0700);
    ::chmod(t.dir.c_str(), 0777);  // the parent: whoever writes there can swap node-1 for another directory
    CHECK(error_of(node).find("state directory " + t.dir + " is writable by group or others (mode 777)") == 0);
    ::chmod(t.dir.c_str(), 0700);
    REQUIRE(::chown(node.c_str(), 12345, 12345) == 0);
    CHECK(error_of(node).find("state directory " + node + " belongs to uid 12345, not to this user") == 0);
    REQUIRE(::chown(node.c_str(), ::geteuid(), ::getegid()) == 0);
    // A link planted where the node's directory goes is not followed.
    const std::string elsewhere = t.dir + "/elsewhere";
    ::mkdir(elsewhere.c_str(), 0700);
    REQUIRE(::symlink(elsewhere.c_str(), (t.dir + "/node-2").c_str()) == 0);
    CHECK(error_of(t.dir + "/node-2") == "state directory " + t.dir + "/node-2: not a directory (a symbolic link is not followed here)");
    CHECK(error_of(node) == "no error");
}

TEST_CASE("state dir: planted links, special and huge files are not followed or read, writes replace a link, not its target", "[state_dir]") {
    TempDir t;
    const std::string node = t.dir + "/node-1";
    { StateStore make(node); }
    const std::string victim = t.dir + "/victim";
    std::ofstream(victim) << "precious";
    REQUIRE(::symlink(victim.c_str(), (node + "/deliveries.bin").c_str()) == 0);
    REQUIRE(::symlink(victim.c_str(), (node + "/snapshot-000000000001-1.bin").c_str()) == 0);
    REQUIRE(::mkfifo((node + "/snapshot-000000000002-2.bin").c_str(), 0600) == 0);
    {
        std::ofstream huge(node + "/snapshot-000000000003-3.bin");
        huge.seekp(StateStore::kMaxFileBytes + 1);  // sparse: big on paper, nothing on disk
        huge << 'x';
    }
    StateStore store(node);
    const StateStore::Loaded loaded = store.load();
    CHECK(loaded.snapshots.empty());
    CHECK_FALSE(loaded.deliveries);
    REQUIRE(loaded.unreadable.size() == 4);
    CHECK(loaded.unreadable[0] == node + "/deliveries.bin (a symbolic link (not followed here))");
    CHECK(loaded.unreadable[1] == node + "/snapshot-000000000001-1.bin (a symbolic link (not followed here))");
    CHECK(loaded.unreadable[2] == node + "/snapshot-000000000002-2.bin (not a regular file)");
    CHECK(loaded.unreadable[3].find("snapshot-000000000003-3.bin (larger than") != std::string::npos);

    DeliveryRecord r;
    r.seq = 7;
    store.write_deliveries(r);
    CHECK(read_all(victim) == "precious");  // the link was replaced, its target untouched
    StateStore again(node);
    const StateStore::Loaded back = again.load();
    REQUIRE(back.deliveries);
    CHECK(back.deliveries->seq == 7);
    // Temporary files have names nobody can guess: none is left behind, none is predictable.
    for (const auto& e : std::filesystem::directory_iterator(node)) CHECK_FALSE(e.path().string().ends_with(".tmp"));
}

namespace {
// A disk that fails the next `failures` writes.
struct FlakySink : StateSink {
    int failures = 0;
    std::vector<std::string> done;
    void fail_maybe() {
        if (failures > 0) {
            --failures;
            throw std::runtime_error("write /x/deliveries.bin: No space left on device");
        }
    }
    void write(const SavedSnapshot& s) override {
        fail_maybe();
        done.push_back(fmt::format("saved {}", s.id.value));
    }
    void write_deliveries(const DeliveryRecord& r) override {
        fail_maybe();
        done.push_back(fmt::format("deliveries {}", r.seq));
    }
    void write_promise(const PromisedTerm& p) override {
        fail_maybe();
        done.push_back(fmt::format("promise {}", p.term.value));
    }
    void erase(SnapshotId id) override { done.push_back(fmt::format("erase {}", id.value)); }
};
}  // namespace

TEST_CASE("state dir: a failed write is retried every second with what came since, and the state is stale until it succeeds", "[state_dir]") {
    FlakySink sink;
    StateWriter w(sink);
    Instant now = instant_us(1'000'000);
    NodeOutput out;
    out.saved.push_back(saved(1));
    out.deliveries = DeliveryRecord{1, {}, {}, {}};
    CHECK_FALSE(w.put(now, out).failed);
    CHECK(sink.done == std::vector<std::string>{"deliveries 1", "saved 1"});
    CHECK_FALSE(w.stale());

    sink.failures = 3;
    out.saved.push_back(saved(2));
    out.deliveries = DeliveryRecord{2, {}, {}, {}};
    const auto first = w.put(now, out);
    REQUIRE(first.failed);  // said once per streak
    CHECK(*first.failed == "write /x/deliveries.bin: No space left on device");
    CHECK(w.stale());
    CHECK(w.stale_since() == now);
    // Within the second: queued, not tried.
    now += 100ms;
    out.saved.push_back(saved(3));
    out.deliveries = DeliveryRecord{3, {}, {}, {}};
    CHECK_FALSE(w.put(now, out).failed);
    CHECK(sink.failures == 2);
    // A saved state dropped before it was written is never written; one written is erased.
    out.erased = {SnapshotId{2}, SnapshotId{1}};
    w.put(now, out);
    now += 1s;
    CHECK_FALSE(w.put(now, out).failed);  // still failing: not said again
    CHECK(sink.failures == 1);
    now += 1s;
    CHECK_FALSE(w.put(now, out).failed);
    CHECK(w.stale());
    now += 1s;
    const auto ok = w.put(now, out);
    CHECK(ok.recovered);
    CHECK_FALSE(w.stale());
    CHECK(w.failures() == 3);
    // Only the newest record, then what is still kept, then the erase.
    CHECK(sink.done == std::vector<std::string>{"deliveries 1", "saved 1", "deliveries 3", "saved 3", "erase 1"});
}
