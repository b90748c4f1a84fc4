// Draws a space-time diagram as SVG: lays out the time axis, then writes lanes, cuts, arrows,
// recording points, faults and a legend, every element tagged with what it shows.
#include "tests/sim/diagram_svg.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <system_error>

#include <fmt/format.h>

namespace ringwatch::diagram {

namespace {

constexpr double kLeft = 130, kRight = 60, kLaneGap = 80, kMinWidth = 1040, kLegendItem = 335;
constexpr double kTickPx = 150, kTickSpread = 0.7;                 // ticks: a tick's events use 70% of it
constexpr double kPxPerUnit = 0.5, kMinGapPx = 7, kMaxGapPx = 48;  // compressed: 0.5 px per microsecond
constexpr double kOutside = 24;                                    // where an end outside the window is put (then clipped)
constexpr double kLabelSpace = 100;                                // between two time labels (and two squeezed-gap labels: kLabelSpace / 2)
constexpr double kMinPlotPx = 820;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
constexpr std::string_view kRecordedColour = "#e8590c";
constexpr std::string_view kCutColours[] = {"#2f9e44", "#7048e8", "#0c8599", "#a0522d", "#d6336c", "#5c940d"};

// The length of the well-formed UTF-8 sequence at the start of s that XML allows, or 0.
std::size_t utf8_length(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;  // no overlong forms
        if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (b(i) < 0x80 || b(i) > 0xBF) return 0;
    if (n == 3 && c == 0xEF && b(1) == 0xBF && b(2) >= 0xBE) return 0;  // U+FFFE, U+FFFF
    return n;
}

std::string num(double v) { return fmt::format("{:.1f}", v); }
std::string when_attrs(std::string_view name, const When& w) { return fmt::format(R"( data-{}="{}" data-{}-seq="{}")", name, w.t, name, w.seq); }

std::string time_text(TimeScale scale, double t) {
    if (scale == TimeScale::ticks) return fmt::format("t={}", t);
    return fmt::format("{:.6f} s", t / 1e6);
}
std::string gap_text(double us) { return us >= 1000 ? fmt::format("+{:.1f} ms", us / 1000) : fmt::format("+{} us", us); }

// Where each moment of the window lies on the x axis (relative to the plot's left edge).
class Axis {
public:
    struct Label {
        double x;
        std::string text;
    };

    explicit Axis(const Diagram& d) : d_(d) {
        std::vector<When> ws;
        const auto add = [&](const When& w) {
            if (inside(w)) ws.push_back(w);
        };
        for (const auto& a : d.arrows) {
            add(a.sent);
            if (a.received) add(*a.received);
        }
        for (const auto& r : d.records) add(r.at);
        for (const auto& f : d.faults) add(f.at);
        std::sort(ws.begin(), ws.end());
        ws.erase(std::unique(ws.begin(), ws.end()), ws.end());
        if (d.scale == TimeScale::ticks) {
            lay_out_ticks(ws);
        } else {
            lay_out_compressed(ws);
        }
    }

    bool inside(const When& w) const { return w.t >= d_.start && w.t <= d_.end; }
    double x(const When& w) const {
        if (w.t < d_.start) return -kOutside;
        if (w.t > d_.end) return width_ + kOutside;
        auto it = x_.lower_bound(w);
        return it == x_.end() ? width_ : it->second;
    }
    double width() const { return width_; }
    const std::vector<Label>& labels() const { return labels_; }
    const std::vector<Label>& gaps() const { return gaps_; }

private:
    void lay_out_ticks(const std::vector<When>& ws) {
        std::map<double, std::vector<When>> by_tick;
        for (const When& w : ws) by_tick[std::floor(w.t)].push_back(w);
        for (const auto& [tick, in_tick] : by_tick) {
            const double step = kTickPx * kTickSpread / static_cast<double>(in_tick.size());
            for (std::size_t i = 0; i < in_tick.size(); ++i) x_[in_tick[i]] = (tick - d_.start) * kTickPx + static_cast<double>(i) * step;
        }
        width_ = (d_.end - d_.start) * kTickPx + kTickPx * kTickSpread;
        for (double k = std::ceil(d_.start); k <= d_.end; k += 1) labels_.push_back({(k - d_.start) * kTickPx, time_text(d_.scale, k)});
    }

    // Events in order; the space between two is their time apart, but never less than kMinGapPx nor
    // more than kMaxGapPx (a squeezed stretch is marked with its length).
    void lay_out_compressed(const std::vector<When>& ws) {
        double at = 0;
        double last_label = -kLabelSpace;
        When prev{d_.start, 0};
        const auto step = [&](double t) {
            const double raw = (t - prev.t) * kPxPerUnit;
            const double dx = std::clamp(raw, kMinGapPx, kMaxGapPx);
            if (raw > kMaxGapPx) gaps_.push_back({at + dx / 2, gap_text(t - prev.t)});
            at += dx;
            return raw > kMaxGapPx;
        };
        const auto label = [&](double t) {
            if (at - last_label < kLabelSpace) return;
            labels_.push_back({at, time_text(d_.scale, t)});
            last_label = at;
        };
        label(d_.start);
        for (const When& w : ws) {
            if (step(w.t)) label(w.t);
            x_[w] = at;
            prev = w;
        }
        step(d_.end);
        width_ = at;
        if (at - last_label >= kLabelSpace) labels_.push_back({at, time_text(d_.scale, d_.end)});
        // A short window is stretched to a readable width.
        if (width_ > 0 && width_ < kMinPlotPx) {
            const double k = kMinPlotPx / width_;
            for (auto& [w, x] : x_) x *= k;
            for (auto& l : labels_) l.x *= k;
            for (auto& g : gaps_) g.x *= k;
            width_ = kMinPlotPx;
        }
    }

    const Diagram& d_;
    std::map<When, double> x_;
    double width_ = 0;
    std::vector<Label> labels_, gaps_;
};

constexpr std::string_view kStyle = R"(
text { font-family: sans-serif; fill: #222; }
.title { font-size: 16px; font-weight: bold; }
.note { font-size: 12px; fill: #555; }
.lane line { stroke: #555; stroke-width: 1.5; }
.lane text { font-size: 13px; font-weight: bold; }
.grid { stroke: #e4e4e4; stroke-width: 1; }
.gap { stroke: #bbb; stroke-width: 1; stroke-dasharray: 1 4; }
.axis-label, .gap-label { font-size: 10px; fill: #555; }
.token line { stroke: #222; stroke-width: 1.6; }
.token.copy line { stroke: #c2255c; }
.token.undelivered line, .marker.undelivered line { stroke-dasharray: 2 3; }
.token.recorded line { stroke: #e8590c; stroke-width: 4.5; }
.marker line { stroke: #1c7ed6; stroke-width: 1.4; stroke-dasharray: 7 4; }
.start line { stroke: #999; stroke-width: 1; stroke-dasharray: 2 3; }
.label { font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.recorded-label { fill: #e8590c; font-weight: bold; }
.state-label { font-weight: bold; }
.record { stroke: #000; stroke-width: 1.2; }
.cut { fill: none; stroke-width: 2.5; stroke-opacity: 0.75; }
.cut-label { font-size: 11px; font-weight: bold; }
.fault path { stroke: #e03131; stroke-width: 3; fill: none; }
.fault-label { fill: #e03131; font-weight: bold; }
.legend-text { font-size: 12px; }
)";

// Arrowheads, one colour per kind of arrow (markerUnits: a thick line keeps a normal head), and a
// cross for a message that never arrived.
std::string arrowheads() {
    struct Head {
        std::string_view id, colour;
        int size;
    };
    constexpr Head heads[] = {
        {"token", "#222", 10}, {"copy", "#c2255c", 10}, {"recorded", "#e8590c", 14}, {"marker", "#1c7ed6", 10}, {"start", "#999", 8}};
    std::string out = "<defs>\n";
    for (const Head& h : heads)
        out +=
            fmt::format(
                R"~(<marker id="head-{0}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{2}" markerHeight="{2}" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{1}"/></marker>)~",
                h.id, h.colour, h.size) +
            "\n";
    out +=
        R"~(<marker id="head-undelivered" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse"><path d="M1,1 L9,9 M1,9 L9,1" stroke="#e03131" stroke-width="2"/></marker>)~";
    return out + "\n";
}

std::string_view kind_class(ArrowKind k) {
    constexpr std::string_view names[] = {"token", "marker", "start"};  // in ArrowKind's order
    return names[static_cast<std::size_t>(k)];
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
    return out;
}

// Writes the SVG in order: frame, axis, lanes, then the plot (cuts under arrows under points), legend.
class Writer {
public:
    explicit Writer(const Diagram& d) : d_(d), axis_(d) {
        top_ = 54 + 16 * static_cast<double>(d.notes.size()) + 30;
        bottom_ = top_ + kLaneGap * static_cast<double>(d.lanes.empty() ? 0 : d.lanes.size() - 1);
        width_ = std::max(kMinWidth, kLeft + axis_.width() + kRight);
        for (const auto& r : d.records)
            if (!colours_.contains(r.snapshot)) colours_.emplace(r.snapshot, kCutColours[colours_.size() % std::size(kCutColours)]);
    }

    std::string svg() {
        legend_rows();
        const double height = bottom_ + 70 + 26 * static_cast<double>(legend_.size()) + 20;
        out_ += R"(<?xml version="1.0" encoding="UTF-8"?>)";
        out_ += fmt::format("\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n", num(width_),
                            num(height));
        out_ += fmt::format("<title>{}</title>\n<style>{}</style>\n{}", xml_escape(d_.title), kStyle, arrowheads());
        out_ += fmt::format(R"(<clipPath id="plot-area"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>)", num(kLeft), num(top_ - 40),
                            num(axis_.width()), num(bottom_ - top_ + 80));
        out_ += "\n</defs>\n";
        out_ += fmt::format(R"(<rect width="100%" height="100%" fill="#fff"/>)");
        out_ += fmt::format("\n<text class=\"title\" x=\"16\" y=\"28\">{}</text>\n", xml_escape(d_.title));
        for (std::size_t i = 0; i < d_.notes.size(); ++i)
            out_ += fmt::format("<text class=\"note\" x=\"16\" y=\"{}\">{}</text>\n", num(50 + 16 * static_cast<double>(i)), xml_escape(d_.notes[i]));
        write_axis();
        write_lanes();
        out_ += "<g id=\"plot\" clip-path=\"url(#plot-area)\">\n";
        write_cuts();
        for (const auto& a : d_.arrows) write_arrow(a);
        for (const auto& r : d_.records) write_record(r);
        for (const auto& f : d_.faults) write_fault(f);
        out_ += "</g>\n";
        write_legend();
        out_ += "</svg>\n";
        return std::move(out_);
    }

private:
    double X(const When& w) const { return kLeft + axis_.x(w); }
    double Y(std::size_t lane) const { return top_ + kLaneGap * static_cast<double>(lane); }

    void write_axis() {
        const double y = bottom_ + 36;
        out_ += "<g id=\"axis\">\n";
        for (const auto& l : axis_.labels()) {
            out_ += fmt::format(
                R"(<line class="grid" x1="{0}" y1="{1}" x2="{0}" y2="{2}"/><text class="axis-label" x="{0}" y="{3}" text-anchor="middle">{4}</text>)",
                num(kLeft + l.x), num(top_ - 24), num(y), num(y + 14), xml_escape(l.text));
            out_ += '\n';
        }
        double last_gap_label = -kLabelSpace;
        for (const auto& g : axis_.gaps()) {
            out_ += fmt::format(R"(<g class="squeezed"><line class="gap" x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>)", num(kLeft + g.x), num(top_ - 24),
                                num(y - 6));
            if (g.x - last_gap_label >= kLabelSpace / 2) {
                out_ += fmt::format(R"(<text class="gap-label" x="{}" y="{}" text-anchor="middle">≈ {}</text>)", num(kLeft + g.x), num(y - 8),
                                    xml_escape(g.text));
                last_gap_label = g.x;
            }
            out_ += "</g>\n";
        }
        out_ += fmt::format(R"(<line x1="{0}" y1="{2}" x2="{1}" y2="{2}" stroke="#555"/>)", num(kLeft), num(kLeft + axis_.width()), num(y));
        out_ += "\n</g>\n";
    }

    void write_lanes() {
        out_ += "<g id=\"lanes\">\n";
        for (std::size_t i = 0; i < d_.lanes.size(); ++i) {
            const auto& l = d_.lanes[i];
            out_ += fmt::format(
                R"(<g class="lane" data-lane="{0}"><line x1="{1}" y1="{3}" x2="{2}" y2="{3}"/><text x="{4}" y="{5}" text-anchor="end">{6}</text></g>)",
                xml_escape(l.id), num(kLeft), num(kLeft + axis_.width()), num(Y(i)), num(kLeft - 12), num(Y(i) + 4), xml_escape(l.label));
            out_ += '\n';
        }
        out_ += "</g>\n";
    }

    // One line per snapshot through its recording points, top lane to bottom lane.
    void write_cuts() {
        std::map<std::string, std::vector<const Record*>> by_snapshot;
        for (const auto& r : d_.records)
            if (axis_.inside(r.at)) by_snapshot[r.snapshot].push_back(&r);
        for (auto& [snap, rs] : by_snapshot) {
            std::sort(rs.begin(), rs.end(), [](const Record* a, const Record* b) { return std::tie(a->lane, a->at) < std::tie(b->lane, b->at); });
            std::string points;
            for (const Record* r : rs) points += fmt::format("{}{},{}", points.empty() ? "" : " ", num(X(r->at)), num(Y(r->lane)));
            const std::string_view colour = colours_.at(snap);
            if (rs.size() > 1)
                out_ += fmt::format(R"(<polyline class="cut" data-snapshot="{}" stroke="{}" points="{}"/>)", xml_escape(snap), colour, points) + "\n";
            const Record& last = *rs.back();
            out_ += fmt::format(R"(<text class="cut-label" x="{}" y="{}" fill="{}">cut {}</text>)", num(X(last.at) + 6), num(Y(last.lane) + 22),
                                colour, xml_escape(snap)) +
                    "\n";
        }
    }

    void write_arrow(const Arrow& a) {
        if (a.sent.t > d_.end) return;
        if (a.received ? a.received->t < d_.start : a.sent.t < d_.start) return;
        const bool recorded = a.kind == ArrowKind::token && !a.recorded_by.empty();
        std::string cls(kind_class(a.kind));
        if (recorded) cls += " recorded";
        if (a.lost) cls += " lost";
        if (a.copy) cls += " copy";
        if (!a.received) cls += " undelivered";
        std::string attrs = fmt::format(R"( data-from="{}" data-to="{}")", xml_escape(d_.lanes.at(a.from).id), xml_escape(d_.lanes.at(a.to).id));
        attrs += when_attrs("sent", a.sent);
        if (a.received) attrs += when_attrs("received", *a.received);
        if (!a.label.empty()) attrs += fmt::format(R"( data-label="{}")", xml_escape(a.label));
        if (!a.snapshot.empty()) attrs += fmt::format(R"( data-snapshot="{}")", xml_escape(a.snapshot));
        if (recorded) attrs += fmt::format(R"( data-recorded-by="{}")", xml_escape(join(a.recorded_by, " ")));

        const double x1 = X(a.sent), y1 = Y(a.from);
        double x2, y2;
        std::string head;
        if (a.received) {
            x2 = X(*a.received);
            y2 = Y(a.to);
            head = recorded ? "recorded" : a.copy ? "copy" : kind_class(a.kind);
        } else {  // it never arrived: a stub towards its receiver, crossed out
            x2 = x1 + 30;
            y2 = y1 + (Y(a.to) - y1) * 0.35;
            head = "undelivered";
        }
        out_ += fmt::format("<g class=\"{}\"{}><title>{}</title>", cls, attrs, xml_escape(a.title));
        out_ += fmt::format(R"~(<line x1="{}" y1="{}" x2="{}" y2="{}" marker-end="url(#head-{})"/>)~", num(x1), num(y1), num(x2), num(y2), head);
        const double mx = (x1 + x2) / 2 + 5, my = (y1 + y2) / 2;
        if (!a.label.empty() && a.kind == ArrowKind::token)
            out_ +=
                fmt::format(R"(<text class="label" x="{}" y="{}">{}</text>)", num(mx), num(place_label(mx, my - 4, a.label)), xml_escape(a.label));
        if (recorded) {
            const std::string text = fmt::format("recorded in flight (snapshot {})", join(a.recorded_by, ", "));
            out_ += fmt::format(R"(<text class="label recorded-label" x="{}" y="{}">{}</text>)", num(mx), num(place_label(mx, my + 11, text)),
                                xml_escape(text));
        }
        out_ += "</g>\n";
    }

    // The baseline for a label near (x, y): moved down past the labels already drawn there, so that
    // arrows side by side (a token and its duplicate) keep readable labels.
    double place_label(double x, double y, std::string_view text) {
        const auto chars =
            static_cast<double>(std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
        const double w = 5.6 * chars;
        const auto clashes = [&](const Box& b) { return std::abs(b.y - y) < 11 && x < b.x + b.w && b.x < x + w; };
        for (int tries = 0; tries < 6 && std::any_of(placed_.begin(), placed_.end(), clashes); ++tries) y += 12;
        placed_.push_back({x, y, w});
        return y;
    }

    void write_record(const Record& r) {
        if (!axis_.inside(r.at)) return;
        out_ += fmt::format(
            R"(<circle class="record" cx="{}" cy="{}" r="6" fill="{}" data-lane="{}" data-snapshot="{}"{} data-state="{}"><title>{}</title></circle>)",
            num(X(r.at)), num(Y(r.lane)), colours_.at(r.snapshot), xml_escape(d_.lanes.at(r.lane).id), xml_escape(r.snapshot), when_attrs("at", r.at),
            xml_escape(r.state), xml_escape(r.title));
        const double x = X(r.at) + 8;
        const std::string text = "state: " + r.state;
        out_ += fmt::format(R"(<text class="label state-label" x="{}" y="{}">{}</text>)", num(x), num(place_label(x, Y(r.lane) - 9, text)),
                            xml_escape(text));
        out_ += '\n';
    }

    void write_fault(const Fault& f) {
        if (!axis_.inside(f.at)) return;
        const double x = X(f.at), y = Y(f.lane);
        out_ += fmt::format(R"(<g class="fault" data-kind="{}" data-lane="{}"{}><title>{}</title>)", xml_escape(f.kind),
                            xml_escape(d_.lanes.at(f.lane).id), when_attrs("at", f.at), xml_escape(f.title));
        out_ += fmt::format(R"(<path d="M{0},{1} L{2},{3} M{0},{3} L{2},{1}"/>)", num(x - 7), num(y - 7), num(x + 7), num(y + 7));
        out_ += fmt::format(R"(<text class="label fault-label" x="{}" y="{}" text-anchor="middle">{}</text></g>)", num(x), num(y - 11),
                            xml_escape(f.kind));
        out_ += '\n';
    }

    // The legend shows only what this kind of diagram can contain.
    void legend_rows() {
        const bool starts = std::any_of(d_.arrows.begin(), d_.arrows.end(), [](const Arrow& a) { return a.kind == ArrowKind::start; });
        const auto arrow = [](std::string_view cls, std::string_view head) {
            return fmt::format(R"~(<g class="{}"><line x1="0" y1="0" x2="44" y2="0" marker-end="url(#head-{})"/></g>)~", cls, head);
        };
        std::vector<std::pair<std::string, std::string>> items{
            {arrow("token", "token"), "token passed (sent → received)"},
            {arrow("marker", "marker"), "marker"},
            {R"(<circle class="record" cx="22" cy="0" r="6" fill="#2f9e44"/>)", "a process records its state"},
            {R"(<polyline class="cut" stroke="#2f9e44" points="4,8 22,0 40,-8"/>)", "the cut: one snapshot's recording points"},
            {arrow("token recorded", "recorded"), "token recorded in flight (channel state)"},
        };
        if (starts) items.push_back({arrow("start", "start"), "the monitor asks a node to start a snapshot"});
        if (d_.scale == TimeScale::compressed || !d_.faults.empty())
            items.push_back({R"(<g class="fault"><path d="M15,-7 L29,7 M15,7 L29,-7"/></g>)", "a fault took effect (lose, duplicate)"});
        if (d_.scale == TimeScale::compressed)
            items.push_back({R"(<text class="gap-label" x="22" y="4" text-anchor="middle">≈ +19 ms</text>)", "idle time squeezed"});
        const auto per_row = static_cast<std::size_t>(std::max(1.0, std::floor((width_ - 32) / kLegendItem)));
        for (std::size_t i = 0; i < items.size(); i += per_row)
            legend_.emplace_back(items.begin() + static_cast<std::ptrdiff_t>(i),
                                 items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + per_row)));
    }

    void write_legend() {
        const double y0 = bottom_ + 80;
        out_ += fmt::format("<g id=\"legend\"><text class=\"legend-text\" x=\"16\" y=\"{}\" font-weight=\"bold\">Legend</text>\n", num(y0 - 4));
        for (std::size_t row = 0; row < legend_.size(); ++row) {
            for (std::size_t i = 0; i < legend_[row].size(); ++i) {
                const double x = 16 + kLegendItem * static_cast<double>(i), y = y0 + 18 + 26 * static_cast<double>(row);
                out_ += fmt::format(R"~(<g transform="translate({},{})">{}<text class="legend-text" x="56" y="4">{}</text></g>)~", num(x), num(y),
                                    legend_[row][i].first, xml_escape(legend_[row][i].second));
                out_ += '\n';
            }
        }
        out_ += "</g>\n";
    }

    const Diagram& d_;
    Axis axis_;
    double top_ = 0, bottom_ = 0, width_ = 0;
    std::map<std::string, std::string_view> colours_;
    std::vector<std::vector<std::pair<std::string, std::string>>> legend_;
    struct Box {
        double x, y, w;
    };
    std::vector<Box> placed_;
    std::string out_;
};

}  // namespace

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_length(text.substr(i));
            out += n == 0 ? kReplacement : text.substr(i, n);
            i += n == 0 ? 1 : n;
            continue;
        }
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                    out += kReplacement;
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    return out;
}

std::string render_svg(const Diagram& d) { return Writer(d).svg(); }

void write_svg(const std::string& path, const Diagram& d) {
    const std::string svg = render_svg(d);
    std::ofstream f(path, std::ios::binary);
    if (!f || !f.write(svg.data(), static_cast<std::streamsize>(svg.size())) || !f.flush())
        throw std::system_error(errno, std::generic_category(), fmt::format("write {}", path));
}

}  // namespace ringwatch::diagram
