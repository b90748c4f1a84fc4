// `ring status CONFIG [--json]`: asks every node and the monitor at once, over the authenticated
// control link, how they are doing, and prints one table (or one JSON object). A node that does
// not answer within a second is named unreachable.
#include <map>

#include <fmt/format.h>
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

// The token's median rotation time as this node sees it (the last few thousand rotations).
std::string rotation(const Figures& f) {
    const std::int64_t us = get(f, "rotation_p50_us", -1);
    return us < 0 ? "-" : fmt::format("{:.1f}ms", us / 1000.0);
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
}  // namespace

int run_status(const std::string& config_path, bool json) {
    const RingConfig config = load_config(config_path);
    LinkConfig link;
    link.key = load_key(config);
    if (const std::string w = config.insecure_warning(); !w.empty()) fmt::print(stderr, "ring: {}\n", w);

    // Everyone at once, on one loop: the whole answer takes at most one timeout.
    io::UvLoop loop;
    std::vector<Answer> answers(config.nodes.size() + 1);
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
    ask(config.nodes.size(), kMonitorId, config.monitor_address, "monitor");
    uv_run(loop.get(), UV_RUN_DEFAULT);
    for (std::size_t i = 0; i < answers.size(); ++i) answers[i].busy = !answers[i].figures && clients[i]->heard();
    clients.clear();

    const Answer& monitor = answers.back();
    std::size_t up = 0;
    for (std::size_t i = 0; i < config.nodes.size(); ++i) up += answers[i].figures ? 1 : 0;
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
            }
            j["nodes"].push_back(std::move(node));
        }
        j["monitor"] = nullptr;
        if (monitor.figures) {
            nlohmann::ordered_json m{{"address", config.monitor_address_text}};
            for (const auto& [k, v] : *monitor.figures) m[k] = v;
            j["monitor"] = std::move(m);
        }
        j["awaiting_first_token"] = no_epoch;
        fmt::print("{}\n", j.dump());
        return up == config.nodes.size() ? 0 : 1;
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
    if (monitor.figures) {
        const Figures& m = *monitor.figures;
        fmt::print(
            "monitor at {}: up {}; epoch {}; snapshots {} ok, {} token_lost, {} token_duplicated, {} inconclusive; "
            "{} incident(s), {} open; {} recovery(ies); {} node(s) down{}\n",
            config.monitor_address_text, age(get(m, "incarnation")), get(m, "epoch"), get(m, "snapshots_ok"), get(m, "snapshots_token_lost"),
            get(m, "snapshots_token_duplicated"), get(m, "snapshots_inconclusive"), get(m, "incidents"), get(m, "incidents_open"),
            get(m, "recoveries"), get(m, "nodes_down"),
            get(m, "view_epoch") > 0
                ? fmt::format("; view epoch {}: {} of {} node(s) in the ring", get(m, "view_epoch"), get(m, "view_members"), config.nodes.size())
                : std::string());
        // Which view each node is in, where that is not simply the monitor's: nodes whose last view
        // left them out (they pass nothing on until a view names them again), and nodes that have
        // not taken the monitor's newest view yet (or that a new monitor has not taken over yet).
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
    } else if (monitor.busy) {
        fmt::print("monitor at {}: busy (it answered, but gave this tool no session: its tool slots are taken; try again)\n",
                   config.monitor_address_text);
    } else {
        fmt::print("monitor at {}: not answering (not running?)\n", config.monitor_address_text);
    }
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
    return up == config.nodes.size() ? 0 : 1;
}

}  // namespace ringwatch
