// `ring status CONFIG [--json] [--watch [S]]`: asks every node and the monitor at once, over the
// authenticated control link, how they are doing, and prints one table (or one JSON object). A node
// that does not answer within a second is named unreachable. Exit 0: every node and monitor answered
// and no incident is open; 1: some node or monitor did not; 3: a token incident is open (whatever else).
#include <unistd.h>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ring/cli/commands.h"
#include "ring/config/ring_config.h"
#include "ring/io/clock.h"
#include "ring/io/tool_client.h"

namespace ringwatch {

namespace {
constexpr Duration kAnswerWithin = std::chrono::seconds(1);

using Figures = std::map<std::string, std::int64_t>;

struct Answer {
    std::string name;  // "node 3", "monitor"
    std::optional<Figures> figures;
    // No figures, but it answered our hello under our key: it gave this tool no session (its tool
    // slots are all taken by other tools), or answered too late.
    bool busy = false;
};

std::int64_t get(const Figures& f, const std::string& key, std::int64_t otherwise = 0) {
    const auto it = f.find(key);
    return it == f.end() ? otherwise : it->second;
}

std::string rtt(const Figures& f, const std::string& prefix) {
    const std::int64_t us = get(f, prefix + "_rtt_us", -1);
    return us < 0 ? "-" : fmt::format("{:.2f}", us / 1000.0);
}

// The share of the node's data frames to its ring neighbours that had to be sent again: what
// the links repair. An estimate: a retransmission can also follow a late ack.
double repaired_loss(const Figures& f) {
    const double sent = static_cast<double>(get(f, "pred_data_sent") + get(f, "succ_data_sent"));
    const double again = static_cast<double>(get(f, "pred_retransmits") + get(f, "succ_retransmits"));
    return sent > 0 ? again / sent : 0.0;
}

// The token's median rotation time as this node sees it (the last few thousand rotations): stale
// once the token has not come for three of its slowest rotations (p99), as while it is lost.
bool rotation_stale(const Figures& f) {
    const std::int64_t p99 = get(f, "rotation_p99_us", -1), ago = get(f, "token_seen_us_ago", -1);
    return p99 > 0 && ago > 3 * p99;
}
std::string rotation(const Figures& f) {
    const std::int64_t us = get(f, "rotation_p50_us", -1);
    return us < 0 ? "-" : fmt::format("{:.1f}ms{}", us / 1000.0, rotation_stale(f) ? "*" : "");
}

// The open incident a monitor reports (its figures name it only while one is open).
struct OpenIncident {
    std::string fault;
    std::int64_t snapshot, epoch;
    bool recovering;
};
std::optional<OpenIncident> open_incident(const Figures& m) {
    const std::int64_t fault = get(m, "open_incident_fault", -1);
    if (fault < 0) return std::nullopt;
    // (The monitor's VerdictKind: 1 token_lost, 2 token_duplicated.)
    return OpenIncident{fault == 1   ? "token_lost"
                        : fault == 2 ? "token_duplicated"
                                     : fmt::format("fault {}", fault),
                        get(m, "open_incident_snapshot"), get(m, "open_incident_epoch"), get(m, "open_incident_recovering") != 0};
}

std::string drops(const Figures& f) {
    std::string s;
    for (const auto& [k, v] : f)
        if (k.starts_with("drop_")) s += fmt::format("{}{}={}", s.empty() ? "" : " ", k.substr(5), v);
    return s.empty() ? "-" : s;
}

std::string age(std::int64_t incarnation_us) {
    const double s = static_cast<double>(io::new_incarnation().value - static_cast<std::uint64_t>(incarnation_us)) / 1e6;
    if (s < 120) return fmt::format("{:.1f}s", s);
    if (s < 7200) return fmt::format("{:.0f}m", s / 60);
    return fmt::format("{:.1f}h", s / 3600);
}

// One line per monitor: its role in the newest term it knows (the leader, or a standby and whom it
// follows), then its own figures. A ring with one monitor calls it "monitor", as before.
void print_monitor(const RingConfig& config, std::size_t k, const Answer& a) {
    const std::string name = config.monitors.size() > 1 ? fmt::format("monitor {}", k) : std::string("monitor");
    const std::string& address = config.monitors[k].address_text;
    if (!a.figures) {
        if (a.busy)
            fmt::print("{} at {}: busy (it answered, but gave this tool no session: its tool slots are taken; try again)\n", name, address);
        else
            fmt::print("{} at {}: not answering (not running?)\n", name, address);
        return;
    }
    const Figures& m = *a.figures;
    std::string role;
    if (get(m, "leading") != 0) {
        role = fmt::format("leads term {}", get(m, "term"));
    } else if (const std::int64_t leader = get(m, "leader", -1); leader >= 0) {
        role = fmt::format("standby in term {} (monitor {} leads)", get(m, "term"), leader);
    } else {
        role = fmt::format("standby in term {} (no leader known)", get(m, "term"));
    }
    fmt::print(
        "{} at {}: up {}; {}; epoch {}; snapshots {} ok, {} token_lost, {} token_duplicated, {} inconclusive; "
        "{} incident(s), {} open; {} recovery(ies); {} node(s) down{}\n",
        name, address, age(get(m, "incarnation")), role, get(m, "epoch"), get(m, "snapshots_ok"), get(m, "snapshots_token_lost"),
        get(m, "snapshots_token_duplicated"), get(m, "snapshots_inconclusive"), get(m, "incidents"), get(m, "incidents_open"), get(m, "recoveries"),
        get(m, "nodes_down"),
        get(m, "view_epoch") > 0
            ? fmt::format("; view epoch {}: {} of {} node(s) in the ring", get(m, "view_epoch"), get(m, "view_members"), config.nodes.size())
            : std::string());
}

int status_once(const RingConfig& config, const LinkConfig& link, bool json) {
    // Everyone at once, on one loop: the whole answer takes at most one timeout.
    io::UvLoop loop;
    const std::size_t monitors = config.monitors.size();
    std::vector<Answer> answers(config.nodes.size() + monitors);
    std::vector<std::unique_ptr<io::ToolClient>> clients;
    std::size_t pending = answers.size();
    auto ask = [&](std::size_t i, NodeId id, const sockaddr_storage& address, std::string name) {
        answers[i].name = std::move(name);
        clients.push_back(std::make_unique<io::ToolClient>(loop.get(), id, address, link));
        clients.back()->query(StatusQuery{0}, kAnswerWithin, [&, i](std::optional<Message> m) {
            if (const auto* r = m ? std::get_if<StatusReply>(&*m) : nullptr) answers[i].figures = Figures(r->values.begin(), r->values.end());
            if (--pending == 0) uv_stop(loop.get());
        });
    };
    for (std::size_t i = 0; i < config.nodes.size(); ++i)
        ask(i, config.nodes[i].id, config.nodes[i].address, fmt::format("node {}", config.nodes[i].id));
    for (std::size_t k = 0; k < monitors; ++k) ask(config.nodes.size() + k, config.monitors[k].id, config.monitors[k].address, "monitor");
    uv_run(loop.get(), UV_RUN_DEFAULT);
    for (std::size_t i = 0; i < answers.size(); ++i) answers[i].busy = !answers[i].figures && clients[i]->heard();
    clients.clear();

    // The monitor whose figures stand for the ring's: the one that leads (the newest term, should
    // two answer that they lead: the other has not heard it is deposed yet), else the first answering.
    auto monitor_answer = [&](std::size_t k) -> const Answer& { return answers[config.nodes.size() + k]; };
    std::optional<std::size_t> lead;
    for (std::size_t k = 0; k < monitors; ++k) {
        const auto& f = monitor_answer(k).figures;
        if (!f || get(*f, "leading") == 0) continue;
        if (!lead || get(*f, "term") > get(*monitor_answer(*lead).figures, "term")) lead = k;
    }
    for (std::size_t k = 0; k < monitors && !lead; ++k)
        if (monitor_answer(k).figures) lead = k;
    const Answer& monitor = monitor_answer(lead.value_or(0));
    std::size_t up = 0;
    for (std::size_t i = 0; i < config.nodes.size(); ++i) up += answers[i].figures ? 1 : 0;
    // All well: every node and every monitor answered (a ring whose monitor is down is unwatched).
    std::size_t monitors_up = 0;
    for (std::size_t k = 0; k < monitors; ++k) monitors_up += monitor_answer(k).figures ? 1 : 0;
    const int answered_code = up == config.nodes.size() && monitors_up == monitors ? 0 : 1;
    // No node answering has an epoch: no token was ever born in this ring (only the monitor orders one).
    bool no_epoch = up > 0;
    for (std::size_t i = 0; i < config.nodes.size(); ++i) no_epoch &= !answers[i].figures || get(*answers[i].figures, "epoch") == 0;

    if (json) {
        nlohmann::ordered_json j{{"ring", config.name}, {"nodes_up", up}, {"nodes", nlohmann::ordered_json::array()}};
        for (std::size_t i = 0; i < config.nodes.size(); ++i) {
            const auto& n = config.nodes[i];
            nlohmann::ordered_json node{{"id", n.id.value}, {"address", n.address_text}, {"up", answers[i].figures.has_value()}};
            if (answers[i].busy) node["busy"] = true;
            if (answers[i].figures) {
                const Figures& f = *answers[i].figures;
                node["age_s"] = static_cast<double>(io::new_incarnation().value - static_cast<std::uint64_t>(get(f, "incarnation"))) / 1e6;
                node["repaired_loss"] = repaired_loss(f);
                for (const auto& [k, v] : f) node[k] = v;
                if (f.contains("rotation_p50_us")) node["rotation_stale"] = rotation_stale(f);
            }
            j["nodes"].push_back(std::move(node));
        }
        // "monitor": the leader's figures (or the first answering monitor's); "monitors": each one's.
        j["monitor"] = nullptr;
        j["monitors"] = nlohmann::ordered_json::array();
        for (std::size_t k = 0; k < monitors; ++k) {
            const Answer& a = monitor_answer(k);
            nlohmann::ordered_json m{{"index", k}, {"address", config.monitors[k].address_text}, {"up", a.figures.has_value()}};
            if (a.busy) m["busy"] = true;
            if (a.figures)
                for (const auto& [key, v] : *a.figures) m[key] = v;
            if (a.figures && lead == k) j["monitor"] = m;
            j["monitors"].push_back(std::move(m));
        }
        j["awaiting_first_token"] = no_epoch;
        // The open incident, by name (null when none), from the monitor that stands for the ring.
        j["open_incident"] = nullptr;
        if (const auto inc = monitor.figures ? open_incident(*monitor.figures) : std::nullopt)
            j["open_incident"] = {{"fault", inc->fault}, {"snapshot", inc->snapshot}, {"epoch", inc->epoch}, {"recovering", inc->recovering}};
        fmt::print("{}\n", j.dump());
        return j["open_incident"].is_null() ? answered_code : 3;
    }

    fmt::print("ring '{}': {} of {} node(s) answering\n", config.name, up, config.nodes.size());
    fmt::print("{:>4}  {:<21} {:<11} {:>6} {:>5} {:>7} {:>4} {:>5} {:>9}  {:>15} {:>7} {:>6}  {}\n", "id", "address", "state", "age", "epoch",
               "passed", "held", "queue", "rotation", "rtt ms pred/succ", "retrans", "loss~", "dropped (by reason)");
    for (std::size_t i = 0; i < config.nodes.size(); ++i) {
        const auto& n = config.nodes[i];
        if (!answers[i].figures) {
            fmt::print("{:>4}  {:<21} {:<11}\n", n.id, n.address_text, answers[i].busy ? "busy" : "unreachable");
            continue;
        }
        const Figures& f = *answers[i].figures;
        fmt::print("{:>4}  {:<21} {:<11} {:>6} {:>5} {:>7} {:>4} {:>5} {:>9}  {:>15} {:>7} {:>5.1f}%  {} {}\n", n.id, n.address_text, "up",
                   age(get(f, "incarnation")), get(f, "epoch"), get(f, "tokens_passed"), get(f, "held"), get(f, "queue"), rotation(f),
                   fmt::format("{}/{}", rtt(f, "pred"), rtt(f, "succ")), get(f, "pred_retransmits") + get(f, "succ_retransmits"),
                   100.0 * repaired_loss(f), get(f, "dropped"), drops(f));
    }
    for (std::size_t i = 0; i < config.nodes.size(); ++i) {
        if (!answers[i].figures) continue;
        if (const std::int64_t ms = get(*answers[i].figures, "state_stale_ms"); ms > 0)
            fmt::print("node {}: its state directory cannot be written for {:.1f} s (see its log): a restart now would load an older state\n",
                       config.nodes[i].id, static_cast<double>(ms) / 1000);
    }
    for (std::size_t k = 0; k < monitors; ++k) print_monitor(config, k, monitor_answer(k));
    if (monitor.figures) {
        // Which view each node is in, where that is not simply the leading monitor's: nodes whose
        // last view left them out (they pass nothing on until a view names them again), and nodes
        // that have not taken its newest view yet (or that a new leader has not taken over yet).
        const Figures& m = *monitor.figures;
        for (std::size_t i = 0; i < config.nodes.size(); ++i) {
            if (!answers[i].figures) continue;
            const Figures& f = *answers[i].figures;
            if (get(f, "view_epoch") > 0 && get(f, "in_view") == 0) {
                fmt::print("node {}: left out of the ring since view epoch {} (it rejoins when the monitor hears it again)\n", config.nodes[i].id,
                           get(f, "view_epoch"));
            } else if (get(m, "view_epoch") > 0 && get(f, "view_epoch") != get(m, "view_epoch")) {
                fmt::print("node {}: in view epoch {}, not the monitor's {} (it has not taken the newest view yet)\n", config.nodes[i].id,
                           get(f, "view_epoch"), get(m, "view_epoch"));
            }
        }
    }
    std::vector<std::string> stale;
    for (std::size_t i = 0; i < config.nodes.size(); ++i)
        if (answers[i].figures && rotation_stale(*answers[i].figures))
            stale.push_back(
                fmt::format("node {} {:.1f} s ago", config.nodes[i].id, static_cast<double>(get(*answers[i].figures, "token_seen_us_ago")) / 1e6));
    if (!stale.empty())
        fmt::print("* stale rotation: the token has not come for three of its slowest rotations (last seen: {})\n", fmt::join(stale, ", "));
    const std::optional<OpenIncident> incident = monitor.figures ? open_incident(*monitor.figures) : std::nullopt;
    if (incident)
        fmt::print("open incident: {} since snapshot {} (epoch {}); {}\n", incident->fault, incident->snapshot, incident->epoch,
                   incident->recovering ? "a repair is under way" : "no repair under way (`ring recover CONFIG` repairs it by hand)");
    if (no_epoch) {
        fmt::print(
            "no token yet: no node has an epoch, and a token is born only by the monitor's order{}\n",
            monitor.figures ? " (its first view brings it; with views off, its first complete snapshot)" : ": start the monitor (`monitor CONFIG`)");
    }
    std::size_t busy = 0;
    for (std::size_t i = 0; i < config.nodes.size(); ++i) busy += answers[i].busy;
    if (busy > 0)
        fmt::print(stderr,
                   "ring status: {} node(s) busy: they answered under this config's key but gave this tool no session (all their "
                   "tool slots are taken by other tools); try again in a second\n",
                   busy);
    else if (up == 0)
        fmt::print(stderr, "ring status: no node answered within 1 s: is the ring running, and is this config's key_file the ring's?\n");
    return incident ? 3 : answered_code;
}
}  // namespace

int run_status(const std::string& config_path, bool json, double watch) {
    const RingConfig config = load_config(config_path);
    LinkConfig link;
    link.key = load_key(config);
    if (const std::string w = config.insecure_warning(); !w.empty()) fmt::print(stderr, "ring: {}\n", w);
    if (watch <= 0) return status_once(config, link, json);
    // Again and again until Ctrl-C; on a terminal each answer replaces the last.
    const bool terminal = isatty(STDOUT_FILENO) != 0 && !json;
    for (;;) {
        if (terminal) fmt::print("\x1b[H\x1b[2J");
        status_once(config, link, json);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::duration<double>(watch));
    }
}

}  // namespace ringwatch
