// Random scenarios and the fault-script syntax of ringsim.
#include "tests/sim/scenarios.h"

#include <charconv>

namespace ringwatch::sim {

SimConfig random_scenario(std::uint64_t seed, Duration duration, std::size_t monitors) {
    Prng p(seed ^ 0x5eed5eed5eedULL);
    SimConfig c;
    c.seed = seed;
    c.duration = duration;
    c.nodes = 2 + p.below(9);  // 2..10
    c.net.loss = p.unit() * 0.3;
    c.net.duplicate = p.unit() * 0.1;
    c.net.reorder = p.unit() * 0.2;
    c.net.delay_min = Duration{p.between(10, 200)};
    c.net.delay_max = c.net.delay_min + Duration{p.between(0, 3000)};
    c.hold = std::chrono::milliseconds(p.between(0, 30));
    c.single_initiator = p.chance(0.2);
    const auto dur_us = duration.count();
    if (p.chance(0.5)) {
        const int n = 1 + static_cast<int>(p.below(2));
        for (int i = 0; i < n; ++i) {
            c.injects.push_back(
                {Duration{p.between(dur_us / 10, dur_us * 8 / 10)}, p.below(c.nodes), p.chance(0.5) ? InjectKind::lose : InjectKind::duplicate});
        }
    }
    if (p.chance(0.1)) c.monitor_restarts.push_back({Duration{p.between(dur_us / 10, dur_us * 7 / 10)}, Duration{p.between(1'000, 500'000)}});
    if (p.chance(0.1)) {
        c.crashes.push_back({Duration{p.between(dur_us / 10, dur_us / 2)}, p.below(c.nodes), Duration{p.between(200'000, 3'000'000)}});
    }
    // Drawn after the older choices, so that a seed's earlier faults stay what they were.
    if (p.chance(0.15)) {
        // Two adjacent nodes crash and restart, together or one after the other, in either order.
        const std::size_t first = p.chance(0.5) ? 0 : p.below(c.nodes);
        const std::size_t second = (first + 1) % c.nodes;
        const std::int64_t at = p.between(dur_us / 10, dur_us / 2);
        const std::int64_t gap = p.chance(0.4) ? 0 : p.between(-600'000, 600'000);
        const std::int64_t down = p.between(10'000, 1'500'000);
        c.crashes.push_back({Duration{at}, first, Duration{down}});
        c.crashes.push_back({Duration{std::max<std::int64_t>(at + gap, 1)}, second, Duration{p.chance(0.5) ? down : p.between(10'000, 1'500'000)}});
    }
    if (p.chance(0.15)) c.monitor_pauses.push_back({Duration{p.between(dur_us / 10, dur_us * 7 / 10)}, Duration{p.between(50'000, 2'500'000)}});
    // Views (the monitor leaves dead and long-silent nodes out), node pauses and partitions.
    if (p.chance(0.5)) c.evict_after = std::chrono::seconds(5);
    if (p.chance(0.15)) {
        // Mostly shorter than evict_after (ridden out), sometimes longer (left out, then back).
        const std::int64_t length = p.chance(0.7) ? p.between(50'000, 3'000'000) : p.between(5'500'000, 8'000'000);
        c.node_pauses.push_back({Duration{p.between(dur_us / 10, dur_us / 2)}, p.below(c.nodes), Duration{length}});
    }
    if (p.chance(0.12) && c.nodes > 2) {
        SimConfig::Partition part;
        const std::size_t first = p.below(c.nodes), count = 1 + p.below(c.nodes - 1);
        for (std::size_t i = 0; i < count; ++i) part.side.push_back((first + i) % c.nodes);
        part.monitor_on_side = p.chance(0.3);
        part.one_way = p.chance(0.3);
        part.at = Duration{p.between(dur_us / 10, dur_us / 2)};
        part.length = Duration{p.chance(0.6) ? p.between(100'000, 3'000'000) : p.between(5'500'000, 8'000'000)};
        c.partitions.push_back(std::move(part));
    }
    // Several monitors (drawn last, so that a seed's single-monitor scenario stays what it was): a
    // restart or pause falls on any of them, the first (the leader at start) may be killed or
    // stopped, and sometimes another is killed (one always lives on).
    c.monitors = monitors;
    if (monitors > 1) {
        for (auto& r : c.monitor_restarts) r.monitor = p.below(monitors);
        for (auto& q : c.monitor_pauses) q.monitor = p.below(monitors);
        if (p.chance(0.35)) c.monitor_kills.push_back({Duration{p.between(dur_us / 10, dur_us * 6 / 10)}, 0});
        if (p.chance(0.2))
            c.monitor_pauses.push_back({Duration{p.between(dur_us / 10, dur_us * 6 / 10)}, Duration{p.between(300'000, 3'000'000)}, 0});
        // Another killed only when a third remains: with views on, a ring with no monitor left
        // stops passing its token a lease later (README, Leases).
        if (monitors > 2 && p.chance(0.15)) c.monitor_kills.push_back({Duration{p.between(dur_us / 10, dur_us * 6 / 10)}, 1 + p.below(monitors - 1)});
    }
    return c;
}

std::optional<Duration> parse_duration(std::string_view t) {
    std::int64_t scale = 0;
    if (t.ends_with("ms")) {
        scale = 1000;
        t.remove_suffix(2);
    } else if (t.ends_with("us")) {
        scale = 1;
        t.remove_suffix(2);
    } else if (t.ends_with("s")) {
        scale = 1'000'000;
        t.remove_suffix(1);
    } else {
        return std::nullopt;
    }
    // A decimal fraction is fine as long as it is a whole number of microseconds: 2.5s, 1.25ms.
    std::string_view frac;
    if (const auto dot = t.find('.'); dot != std::string_view::npos) {
        frac = t.substr(dot + 1);
        t = t.substr(0, dot);
        if (frac.empty() || frac.size() > 6 || frac.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    }
    std::int64_t v = 0, f = 0, f_scale = 1;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc{} || end != t.data() + t.size() || v < 0 || v > std::int64_t{1} << 40) return std::nullopt;
    for (char c : frac) {
        f = f * 10 + (c - '0');
        f_scale *= 10;
    }
    if (f * scale % f_scale != 0) return std::nullopt;
    return Duration{v * scale + f * scale / f_scale};
}

namespace {
std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        auto i = s.find(sep);
        out.push_back(s.substr(0, i));
        if (i == std::string_view::npos) break;
        s.remove_prefix(i + 1);
    }
    return out;
}
bool parse_index(std::string_view t, std::size_t& out) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc{} && end == t.data() + t.size();
}
std::optional<std::size_t> parse_uint(std::string_view t) {
    std::size_t v = 0;
    return parse_index(t, v) ? std::optional(v) : std::nullopt;
}
}  // namespace

std::string parse_injects(std::string_view text, std::vector<TimedInject>& out) {
    for (auto item : split(text, ',')) {
        const auto at = item.find('@');
        if (at == std::string_view::npos) return fmt::format("'{}': expected KIND[:NODE]@TIME, e.g. lose@10s", item);
        std::string_view what = item.substr(0, at);
        std::size_t node = 1;
        if (auto colon = what.find(':'); colon != std::string_view::npos) {
            if (!parse_index(what.substr(colon + 1), node)) return fmt::format("'{}': bad node number", item);
            what = what.substr(0, colon);
        }
        InjectKind kind;
        if (what == "lose") {
            kind = InjectKind::lose;
        } else if (what == "duplicate") {
            kind = InjectKind::duplicate;
        } else {
            return fmt::format("'{}': the fault is lose or duplicate", item);
        }
        auto d = parse_duration(item.substr(at + 1));
        if (!d) return fmt::format("'{}': bad time (use 10s, 250ms)", item);
        out.push_back({*d, node, kind});
    }
    return {};
}

namespace {
// "A+B,C+D": pairs of durations (a monitor event's time and how long it lasts), one error message
// naming the item and the expected form, empty on success.
// "[K:]A+B,...": pairs of durations, each for monitor K (0 unless named).
template <typename Pair>
std::string parse_time_pairs(std::string_view text, std::string_view form, std::vector<Pair>& out) {
    for (auto item : split(text, ',')) {
        std::size_t monitor = 0;
        std::string_view rest = item;
        if (const auto colon = item.find(':'); colon != std::string_view::npos) {
            const auto k = parse_uint(item.substr(0, colon));
            if (!k) return fmt::format("'{}': expected {}", item, form);
            monitor = static_cast<std::size_t>(*k);
            rest = item.substr(colon + 1);
        }
        const auto plus = rest.find('+');
        const auto a = parse_duration(rest.substr(0, plus));
        const auto b = plus == std::string_view::npos ? std::nullopt : parse_duration(rest.substr(plus + 1));
        if (!a || !b) return fmt::format("'{}': expected {}", item, form);
        out.push_back({*a, *b, monitor});
    }
    return {};
}
}  // namespace

std::string parse_monitor_restarts(std::string_view text, std::vector<SimConfig::MonitorRestart>& out) {
    return parse_time_pairs(text, "[MONITOR:]TIME+DOWN, e.g. 5s+200ms or 1:5s+200ms", out);
}

std::string parse_monitor_pauses(std::string_view text, std::vector<SimConfig::MonitorPause>& out) {
    return parse_time_pairs(text, "[MONITOR:]TIME+LENGTH, e.g. 5s+2s or 1:5s+2s", out);
}

std::string parse_monitor_kills(std::string_view text, std::vector<SimConfig::MonitorKill>& out) {
    for (auto item : split(text, ',')) {
        const auto at = item.find('@');
        const auto k = at == std::string_view::npos ? std::nullopt : parse_uint(item.substr(0, at));
        const auto t = at == std::string_view::npos ? std::nullopt : parse_duration(item.substr(at + 1));
        if (!k || !t) return fmt::format("'{}': expected MONITOR@TIME, e.g. 0@5s", item);
        out.push_back({*t, static_cast<std::size_t>(*k)});
    }
    return {};
}

std::string parse_times(std::string_view text, std::vector<Duration>& out) {
    for (auto item : split(text, ',')) {
        const auto d = parse_duration(item);
        if (!d) return fmt::format("'{}': bad time (use 10s, 250ms)", item);
        out.push_back(*d);
    }
    return {};
}

std::string parse_node_pauses(std::string_view text, std::vector<SimConfig::NodePause>& out) {
    const char* form = "NODE@TIME+LENGTH, e.g. 2@5s+2s";
    for (auto item : split(text, ',')) {
        const auto at = item.find('@'), plus = item.find('+');
        std::size_t node = 0;
        if (at == std::string_view::npos || plus == std::string_view::npos || plus < at || !parse_index(item.substr(0, at), node))
            return fmt::format("'{}': expected {}", item, form);
        const auto a = parse_duration(item.substr(at + 1, plus - at - 1)), l = parse_duration(item.substr(plus + 1));
        if (!a || !l) return fmt::format("'{}': expected {}", item, form);
        out.push_back({*a, node, *l});
    }
    return {};
}

std::string parse_partitions(std::string_view text, std::vector<SimConfig::Partition>& out) {
    const char* form = "[>][m.]NODE.NODE...@TIME+LENGTH, e.g. 0.1@5s+2s";
    for (auto item : split(text, ',')) {
        SimConfig::Partition p;
        if (item.starts_with('>')) {
            p.one_way = true;
            item.remove_prefix(1);
        }
        if (item.starts_with("m.")) {
            p.monitor_on_side = true;
            item.remove_prefix(2);
        }
        const auto at = item.find('@'), plus = item.find('+');
        if (at == std::string_view::npos || plus == std::string_view::npos || plus < at) return fmt::format("'{}': expected {}", item, form);
        for (auto n : split(item.substr(0, at), '.')) {
            std::size_t node = 0;
            if (!parse_index(n, node)) return fmt::format("'{}': expected {}", item, form);
            p.side.push_back(node);
        }
        const auto a = parse_duration(item.substr(at + 1, plus - at - 1)), l = parse_duration(item.substr(plus + 1));
        if (!a || !l || p.side.empty()) return fmt::format("'{}': expected {}", item, form);
        p.at = *a;
        p.length = *l;
        out.push_back(std::move(p));
    }
    return {};
}

std::string format_partition(const SimConfig::Partition& p) {
    std::string side;
    for (std::size_t n : p.side) side += fmt::format("{}{}", side.empty() ? "" : ".", n);
    return fmt::format("{}{}{}@{}+{}", p.one_way ? ">" : "", p.monitor_on_side ? "m." : "", side, format_duration(p.at), format_duration(p.length));
}

std::string parse_crashes(std::string_view text, std::vector<TimedCrash>& out) {
    for (auto item : split(text, ',')) {
        const auto at = item.find('@');
        std::size_t node = 0;
        if (at == std::string_view::npos || !parse_index(item.substr(0, at), node))
            return fmt::format("'{}': expected NODE@TIME[+RESTART], e.g. 3@5s+2s", item);
        std::string_view rest = item.substr(at + 1);
        std::optional<Duration> restart;
        if (auto plus = rest.find('+'); plus != std::string_view::npos) {
            restart = parse_duration(rest.substr(plus + 1));
            if (!restart) return fmt::format("'{}': bad restart delay", item);
            rest = rest.substr(0, plus);
        }
        auto d = parse_duration(rest);
        if (!d) return fmt::format("'{}': bad time (use 10s, 250ms)", item);
        out.push_back({*d, node, restart});
    }
    return {};
}

std::string format_duration(Duration d) {
    const auto us = d.count();
    if (us % 1'000'000 == 0) return fmt::format("{}s", us / 1'000'000);
    if (us % 1000 == 0) return fmt::format("{}ms", us / 1000);
    return fmt::format("{}us", us);
}

std::string replay_flags(const SimConfig& c, bool random_faults) {
    std::string s = fmt::format("--seed {}", c.seed);
    if (random_faults) {
        s += fmt::format(" --random-faults --duration {}", format_duration(c.duration));
        if (c.monitors > 1) s += fmt::format(" --monitors {}", c.monitors);
    } else {
        s += fmt::format(" --nodes {} --duration {} --loss {} --dup {} --reorder {} --hold {} --interval {} --timeout {} --app-rate {}", c.nodes,
                         format_duration(c.duration), c.net.loss, c.net.duplicate, c.net.reorder, format_duration(c.hold),
                         format_duration(c.interval), format_duration(c.timeout), c.app_messages_per_s);
        if (c.single_initiator) s += " --single-initiator";
        std::string injects, crashes;
        for (const auto& i : c.injects)
            injects += fmt::format("{}{}:{}@{}", injects.empty() ? "" : ",", to_string(i.kind), i.node, format_duration(i.at));
        for (const auto& cr : c.crashes)
            crashes += fmt::format("{}{}@{}{}", crashes.empty() ? "" : ",", cr.node, format_duration(cr.at),
                                   cr.restart_after ? fmt::format("+{}", format_duration(*cr.restart_after)) : std::string());
        if (!injects.empty()) s += " --inject " + injects;
        if (!crashes.empty()) s += " --crash " + crashes;
        std::string restarts;
        if (c.monitors > 1) s += fmt::format(" --monitors {}", c.monitors);
        auto which = [](std::size_t k) { return k == 0 ? std::string() : fmt::format("{}:", k); };
        for (const auto& r : c.monitor_restarts)
            restarts += fmt::format("{}{}{}+{}", restarts.empty() ? "" : ",", which(r.monitor), format_duration(r.at), format_duration(r.down));
        if (!restarts.empty()) s += " --monitor-restart " + restarts;
        std::string pauses;
        for (const auto& p : c.monitor_pauses)
            pauses += fmt::format("{}{}{}+{}", pauses.empty() ? "" : ",", which(p.monitor), format_duration(p.at), format_duration(p.length));
        if (!pauses.empty()) s += " --monitor-pause " + pauses;
        std::string kills;
        for (const auto& k : c.monitor_kills) kills += fmt::format("{}{}@{}", kills.empty() ? "" : ",", k.monitor, format_duration(k.at));
        if (!kills.empty()) s += " --monitor-kill " + kills;
        std::string walks;
        for (Duration at : c.regenerates_by_hand) walks += fmt::format("{}{}", walks.empty() ? "" : ",", format_duration(at));
        if (!walks.empty()) s += " --regenerate-by-hand " + walks;
        std::string np, parts;
        for (const auto& p : c.node_pauses)
            np += fmt::format("{}{}@{}+{}", np.empty() ? "" : ",", p.node, format_duration(p.at), format_duration(p.length));
        if (!np.empty()) s += " --node-pause " + np;
        for (const auto& p : c.partitions) {
            if (!parts.empty()) parts += ',';
            parts += format_partition(p);
        }
        if (!parts.empty()) s += " --partition " + parts;
    }
    if (c.mutant != Mutant::none) s += fmt::format(" --mutant {}", to_string(c.mutant));
    if (c.recover != RecoveryMode::off) s += fmt::format(" --recover {}", to_string(c.recover));
    if (c.evict_after) {
        s += fmt::format(" --evict-after {}", format_duration(*c.evict_after));
    } else if (random_faults) {
        s += " --evict-after off";  // (without the flag, the seed decides)
    }
    return s;
}

}  // namespace ringwatch::sim
