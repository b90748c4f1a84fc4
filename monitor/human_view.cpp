// The monitor's human output (see human_view.h).
#include "monitor/human_view.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ringwatch {

namespace {
std::string where_tokens(const Verdict& v) { return ringwatch::where_tokens(v.holders, v.channels); }

double ms_of(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double s_of(Duration d) { return std::chrono::duration<double>(d).count(); }

const auto kBad = fmt::emphasis::bold | fg(fmt::color::red);
const auto kGood = fmt::emphasis::bold | fg(fmt::color::green);
const auto kAction = fmt::emphasis::bold | fg(fmt::color::yellow);

std::string inconclusive_why(const Verdict& v) {
    std::vector<std::uint16_t> missing, silent, restarted;
    for (auto m : v.missing) missing.push_back(m.value);
    for (auto m : v.silent) silent.push_back(m.value);
    for (auto m : v.restarted) restarted.push_back(m.value);
    std::string why;
    if (!missing.empty()) why = fmt::format("no report from node(s) {}", fmt::join(missing, ", "));
    if (!silent.empty()) why += fmt::format(" (silent: {})", fmt::join(silent, ", "));
    if (v.forming) why += "the ring has no token yet (it is starting)";
    if (!restarted.empty()) why += fmt::format("{}node(s) {} restarted during it", why.empty() ? "" : "; ", fmt::join(restarted, ", "));
    return why;
}
}  // namespace

HumanView::HumanView(Options o, std::FILE* out) : o_(o), out_(out), freshness_(o.stale_after) {}

// Where the token is only as the latest conclusive snapshot saw it, with its age; once that is
// outdated, the line leads with saying so (a stale "held by node 4" read at a glance misleads).
std::string HumanView::token_status(Instant now) const {
    const auto& seen = freshness_.latest();
    if (!seen) return "token not seen yet (no conclusive snapshot)";
    const std::string where = ringwatch::where_tokens(seen->holders, seen->channels);
    const double age = s_of(freshness_.age(now));
    switch (freshness_.at(now)) {
        case Freshness::none:
        case Freshness::fresh: return fmt::format("token {} (snapshot {}, {:.1f} s ago)", where, seen->id, age);
        case Freshness::outdated_age:
            return fmt::format("token outdated: no conclusive snapshot for {:.1f} s (snapshot {} saw it {})", age, seen->id, where);
        case Freshness::outdated_node_down:
            return fmt::format("token outdated: node(s) {} down since snapshot {} (which saw it {}, {:.1f} s ago)",
                               fmt::join(freshness_.down_since_latest(), ", "), seen->id, where, age);
    }
    return "token ?";
}

std::string HumanView::status(Instant now) const {
    std::string s = fmt::format("{} snapshots: {} ok", ok_ + lost_ + duplicated_ + inconclusive_, ok_);
    if (lost_) s += fmt::format(", {} token_lost", lost_);
    if (duplicated_) s += fmt::format(", {} token_duplicated", duplicated_);
    if (inconclusive_) s += fmt::format(", {} inconclusive", inconclusive_);
    s += fmt::format(" | {} | last {:.1f} ms | epoch {} | {} incident(s) open", token_status(now), last_ms_, epoch_, open_incidents_);
    if (const auto down = freshness_.down(); !down.empty()) s += fmt::format(" | down: {}", fmt::join(down, ", "));
    return s;
}

void HumanView::clear_status() {
    if (status_shown_) fmt::print(out_, "\r\x1b[2K");
    status_shown_ = false;
}

void HumanView::draw_status(Instant now) {
    if (!o_.terminal) return;
    fmt::print(out_, "\r\x1b[2K{}", status(now));
    status_shown_ = true;
    std::fflush(out_);
}

std::string HumanView::line_start() const { return !o_.terminal && o_.stamp ? o_.stamp() + " " : std::string(); }

void HumanView::plain_line(const std::string& text) {
    clear_status();
    fmt::print(out_, "{}{}\n", line_start(), text);
}

void HumanView::event_line(const std::string& text, fmt::text_style style) {
    clear_status();
    if (o_.colour) {
        fmt::print(out_, style, "{}", text);
        fmt::print(out_, "\n");
    } else {
        fmt::print(out_, "{}{}\n", line_start(), text);
    }
}

void HumanView::incident_event(const IncidentEvent& e) {
    const std::string who = e.by_hand ? " (asked for by hand)" : "";
    switch (e.kind) {
        case IncidentEventKind::alarm:
            ++open_incidents_;
            event_line(fmt::format("ALARM {} at snapshot {}: {} token(s), {} ({:.1f} ms)", to_string(e.verdict.kind), e.verdict.id, e.verdict.tokens,
                                   where_tokens(e.verdict), ms_of(e.verdict.duration)),
                       kBad);
            break;
        case IncidentEventKind::recovery: {
            const std::string instead = e.note.empty() ? "" : fmt::format(" ({})", e.note);
            if (e.restored) {
                event_line(fmt::format("RECOVERY {} of {}{}: epoch {}, every node restores snapshot {} (tokens of older epochs purged)",
                                       to_string(e.mode), to_string(e.fault), who, e.epoch, *e.restored),
                           kAction);
            } else if (e.issuer) {
                event_line(fmt::format("RECOVERY {} of {}{}: epoch {}, tokens of older epochs purged, node {} issues the new token{}",
                                       to_string(e.mode), to_string(e.fault), who, e.epoch, *e.issuer, instead),
                           kAction);
            } else {
                event_line(fmt::format("RECOVERY {} of {}{} impossible: {}; the ring is left to the operator", to_string(e.mode), to_string(e.fault),
                                       who, e.note),
                           kBad);
            }
            break;
        }
        case IncidentEventKind::recovered:
            event_line(fmt::format("RECOVERED {} by {}: epoch {} is healthy, {:.1f} s after the alarm", to_string(e.fault), to_string(e.mode),
                                   e.epoch, s_of(e.lasted)),
                       kGood);
            break;
        case IncidentEventKind::resolved:
            if (open_incidents_ > 0) --open_incidents_;
            event_line(fmt::format("RESOLVED {}: snapshots {} to {}, {:.1f} s, {}", to_string(e.fault), e.first, e.last, s_of(e.lasted),
                                   e.ended == IncidentEnd::by_itself ? "by itself" : how(e)),
                       kGood);
            break;
    }
}

void HumanView::on_verdict(Instant now, const Verdict& v, const std::vector<IncidentEvent>& incidents) {
    switch (v.kind) {
        case VerdictKind::ok: ++ok_; break;
        case VerdictKind::token_lost: ++lost_; break;
        case VerdictKind::token_duplicated: ++duplicated_; break;
        case VerdictKind::inconclusive: ++inconclusive_; break;
    }
    freshness_.on_verdict(v);
    if (v.kind != VerdictKind::inconclusive) epoch_ = v.epoch.value;
    last_ms_ = ms_of(v.duration);
    // Resolutions and recoveries of earlier incidents first, then this verdict's alarm and its recovery.
    for (const auto& e : incidents)
        if (e.kind == IncidentEventKind::resolved || e.kind == IncidentEventKind::recovered) incident_event(e);
    for (const auto& e : incidents)
        if (e.kind == IncidentEventKind::alarm) incident_event(e);
    for (const auto& e : incidents)
        if (e.kind == IncidentEventKind::recovery) incident_event(e);
    if (v.first_token) {
        event_line(fmt::format("FIRST TOKEN ordered at snapshot {}: a fresh ring (no node has an epoch); epoch {}, node {} makes it", v.id,
                               v.first_token->epoch, v.first_token->issuer),
                   kAction);
    }
    if (o_.verbose) {
        if (v.kind == VerdictKind::inconclusive) {
            plain_line(fmt::format("snapshot {}: inconclusive, {}", v.id, inconclusive_why(v)));
        } else if (v.alarm()) {
            plain_line(fmt::format("snapshot {}: {}{}, {} token(s), {} ({:.1f} ms)", v.id, to_string(v.kind),
                                   open_incidents_ ? " (incident open)" : "", v.tokens, where_tokens(v), last_ms_));
        } else {
            plain_line(fmt::format("snapshot {}: ok, 1 token {} ({:.1f} ms)", v.id, where_tokens(v), last_ms_));
        }
    }
    draw_status(now);
    std::fflush(out_);
}

void HumanView::on_incidents(Instant now, const std::vector<IncidentEvent>& events) {
    for (const auto& e : events) incident_event(e);
    draw_status(now);
    std::fflush(out_);
}

void HumanView::on_node_event(Instant now, const NodeEvent& e) {
    freshness_.on_node_event(e);
    if (e.kind == NodeEventKind::node_down) {
        const std::string silent = e.ever_heard ? fmt::format("silent for {} ms", e.silent_for.count() / 1000)
                                                : fmt::format("never heard from in {} ms", e.silent_for.count() / 1000);
        const std::string address = e.address == NodeAddress::port_closed ? "its port is closed (no process holds it)"
                                                                          : "its address does not refuse (paused, busy, or unreachable)";
        event_line(fmt::format("NODE DOWN {}: {}; {}", e.node, silent, address), kBad);
    } else {
        event_line(
            fmt::format("NODE UP {}: back after {:.1f} s{}", e.node, s_of(e.down_for), e.restarted ? ", as a new process" : ", the same process"),
            kGood);
    }
    draw_status(now);
    std::fflush(out_);
}

void HumanView::on_membership_event(Instant now, const MembershipEvent& e) {
    switch (e.kind) {
        case MembershipEventKind::view:
            event_line(fmt::format("VIEW epoch {}: ring of {} ({}), token issued by node {}", e.epoch, e.members.size(), fmt::join(e.members, " > "),
                                   e.node),
                       kGood);
            break;
        case MembershipEventKind::node_evicted:
            event_line(fmt::format("NODE EVICTED {}: {}; the ring goes on without it", e.node,
                                   e.address == NodeAddress::port_closed ? "its process is gone"
                                   : e.unacknowledged                    ? "it did not acknowledge the new view in time"
                                                                         : "silent for evict_after_ms"),
                       kBad);
            break;
        case MembershipEventKind::node_rejoined:
            event_line(fmt::format("NODE REJOINED {}: back in the ring at epoch {}", e.node, e.epoch), kGood);
            break;
        case MembershipEventKind::link_fault:
            event_line(
                fmt::format("LINK FAULT {} -> {}: nothing crosses it while both are heard; the ring goes round node {}", e.from, e.node, e.node),
                kBad);
            break;
    }
    draw_status(now);
    std::fflush(out_);
}

// A claim is said only by what came of it.
void HumanView::on_leader_event(Instant now, const LeaderEvent& e) {
    switch (e.kind) {
        case LeaderEventKind::claimed: return;
        case LeaderEventKind::leading:
            event_line(fmt::format("LEADING term {}: {} node(s) promised it; this monitor orders the ring", e.term, e.promises), kGood);
            break;
        case LeaderEventKind::claim_failed:
            event_line(e.later == kNoTerm ? fmt::format("claim of term {} not promised by a majority in time: tried again", e.term)
                                          : fmt::format("claim of term {} refused: node {} promised term {}", e.term, e.by, e.later),
                       kBad);
            break;
        case LeaderEventKind::stepped_down:
            event_line(e.later == kNoTerm
                           ? fmt::format("term {} has made all its epochs: claiming the next", e.term)
                           : fmt::format("STEPPED DOWN from term {}: node {} promised term {} (another monitor leads)", e.term, e.by, e.later),
                       kBad);
            break;
    }
    draw_status(now);
    std::fflush(out_);
}

void HumanView::on_summary_tick(Instant now) {
    if (o_.terminal) return;
    plain_line("summary: " + status(now));
    std::fflush(out_);
}

void HumanView::on_refresh(Instant now) {
    if (!status_shown_) return;  // nothing drawn yet (or not a terminal): nothing to bring up to date
    draw_status(now);
}

void HumanView::finish() {
    if (status_shown_) fmt::print(out_, "\n");
    status_shown_ = false;
    std::fflush(out_);
}

}  // namespace ringwatch
