// The messages the links carry between nodes and the monitor, and their strict codec (first byte:
// the type). Decoding never throws and rejects anything malformed or over its bounds. Each type's
// byte and fields on the wire are described once, in message_fields.h: a type added to Message
// without them does not compile.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ring/core/term.h"
#include "ring/core/types.h"

namespace ringwatch {

// Reserved ids: the monitors (the first, or only, one is kMonitorId; types.h), and the range for
// one-shot tools (ring inject, ring send).
inline constexpr NodeId kMonitorId = monitor_id(0);
inline constexpr std::uint16_t kMaxNodeId = 0xEFFF;

inline constexpr std::size_t kMaxPayloadBytes = 1024;
// A report lists at most this many tokens of each kind (held, in flight); it always carries the
// true counts, so a verdict counts right and says when its lists were cut short.
inline constexpr std::size_t kMaxTokensInReport = 64;

enum class TokenKind : std::uint8_t { free_token = 0, busy = 1 };

struct Token {
    TokenKind kind = TokenKind::free_token;
    Epoch epoch{1};
    // Busy tokens only: the message they carry.
    NodeId src;
    NodeId dst;
    std::uint64_t msg_id = 0;
    bool copied = false;
    Bytes payload;
    // Busy tokens only: the sending process. (src, src_incarnation, msg_id) names a message even
    // across a restart of its source, whose message ids start again at 1.
    Incarnation src_incarnation;
    bool operator==(const Token&) const = default;
};

// What a snapshot records of a token: enough to count it and say what it was.
struct TokenSummary {
    TokenKind kind = TokenKind::free_token;
    Epoch epoch{1};
    NodeId src;  // busy: who sent the message
    bool operator==(const TokenSummary&) const = default;
};
TokenSummary summarize(const Token& t);

struct NodeState {
    std::vector<TokenSummary> held;  // decoded from a report: the first kMaxTokensInReport only
    std::uint32_t held_count = 0;    // how many tokens the node held (the list may be shorter)
    std::uint32_t queue_length = 0;
    std::uint64_t tokens_forwarded = 0;
    std::uint64_t messages_delivered = 0;
    bool had_token = false;  // the process has held a token (a ring still forming has none yet, and that is no loss)
    Epoch epoch{1};          // the node's epoch: every token it holds is of this epoch
    bool operator==(const NodeState&) const = default;
};

// How many tokens of one epoch a channel carried in a snapshot. Epoch{0} stands for every epoch
// older than the ones listed (all stale whatever the verdict's epoch).
struct EpochCount {
    Epoch epoch;
    std::uint32_t tokens = 0;
    bool operator==(const EpochCount&) const = default;
};
inline constexpr std::size_t kMaxEpochCounts = 4;

struct MarkerMessage {
    SnapshotId id;
    bool operator==(const MarkerMessage&) const = default;
};
struct SnapshotStart {
    SnapshotId id;
    SnapshotId abandon_before;  // the monitor has given up on older ids: stop recording them
    bool operator==(const SnapshotStart&) const = default;
};
// A node keeps the saved state of its last few snapshots, and says which in every report. The
// monitor names the newest snapshot judged ok (what a rollback would restore) to every node, which
// keeps that one too until another is named.
inline constexpr std::size_t kMaxKeptSnapshots = 32;
struct KeepSnapshot {
    SnapshotId id;
    Term term{0};  // the leader's (term.h): a node obeys no order of a term below the one it promised
    bool operator==(const KeepSnapshot&) const = default;
};
struct SnapshotReport {
    SnapshotId id;
    NodeId node;
    Incarnation incarnation;  // of the reporting process: a snapshot spanning a restart is not judged
    NodeState state;
    NodeId channel_from;                  // the inbound channel (the predecessor)
    std::vector<TokenSummary> in_flight;  // tokens recorded on it (at most kMaxTokensInReport listed)
    std::uint32_t in_flight_count = 0;    // how many were recorded
    // The recorded tokens by epoch, newest first (at most kMaxEpochCounts + one for older ones):
    // a verdict counts only its epoch's tokens, and the lists above may be cut short.
    std::vector<EpochCount> in_flight_epochs;
    // The snapshots whose saved state the node can restore (rollback), oldest first, and the one a
    // monitor named last as judged ok (0: none; a restarted monitor learns it from here).
    std::vector<SnapshotId> kept;
    SnapshotId pinned{0};
    bool operator==(const SnapshotReport&) const = default;
};
enum class InjectKind : std::uint8_t { lose = 1, duplicate = 2 };
struct InjectCommand {
    std::uint64_t command_id;
    InjectKind kind;
    bool operator==(const InjectCommand&) const = default;
};
struct SendCommand {
    std::uint64_t command_id;
    NodeId to;
    Bytes payload;
    bool operator==(const SendCommand&) const = default;
};
// Impair the node's outgoing datagrams (the links must hide it): chances in parts per million.
struct ImpairCommand {
    std::uint64_t command_id;
    std::uint32_t loss_ppm;
    std::uint32_t duplicate_ppm;
    std::uint32_t delay_us;
    bool operator==(const ImpairCommand&) const = default;
};
// Recovery, `regenerate` (purge and reissue): every node adopts `epoch` (discarding tokens of older
// epochs, held now or arriving later, and queueing again its own messages they carried); `issuer`
// makes one free token of the new epoch. `rollback`: every node restores its saved state of
// `snapshot` in `epoch` (and acknowledges whether it could).
enum class RecoverMode : std::uint8_t { regenerate = 1, rollback = 2 };
inline constexpr NodeId kNoIssuer{0xFFFF};  // a RecoverCommand that only tells the epoch (no node issues a token)
struct RecoverCommand {
    std::uint64_t command_id;
    RecoverMode mode;
    Epoch epoch;
    NodeId issuer;
    SnapshotId snapshot{0};  // rollback: the snapshot to restore
    Term term{0};            // the leader's; 0 from a tool (`ring recover` without a monitor)
    bool operator==(const RecoverCommand&) const = default;
};

// A ring configuration (a view, ring/core/view.h), ordered by the monitor: from `epoch` on, the
// ring is the configured nodes `members` names, in the configured order. A member adopts it as a
// regenerate's epoch (tokens of older epochs purged, held or arriving later), takes its neighbours
// from it and acknowledges (not ok: an epoch older than its own, a list that does not fit its
// ring, a ring of fewer than two); a node left out passes nothing on until a later view names it.
// No token comes with it: the epoch's one token is ordered (IssueToken) once every member has
// acknowledged, so no token ever crosses from one view to the next.
inline constexpr std::size_t kMaxViewBitmapBytes = 512;  // 4096 configured nodes
struct ViewOrder {
    std::uint64_t command_id;
    Epoch epoch;
    Bytes members;  // one bit per configured position (view_bitmap)
    Term term{0};
    bool operator==(const ViewOrder&) const = default;
};
// The monitor's order to make the one token of `epoch`, the view every member has acknowledged.
// Made once per epoch whatever the repeats (acknowledged ok again); refused (not ok) by a node
// whose epoch or view is another, or which is no member.
struct IssueToken {
    std::uint64_t command_id;
    Epoch epoch;
    Term term{0};
    bool operator==(const IssueToken&) const = default;
};

// Leases (views on): a ring member passes tokens on only while it holds the monitor's lease, so
// that a node cut off from the monitor (paused, partitioned) stops passing its token before the
// monitor can replace that token in a view without it. The node asks with its own clock's reading
// `stamp` (microseconds, its own epoch) and its view's epoch; the monitor grants it, echoing the
// stamp, and the node holds the lease until `stamp` + `lease_ms` on its own clock. Counting from
// when it asked, not when the grant came, a grant that waited in a socket or a paused process
// extends nothing: the monitor knows every lease it granted ends within `lease_ms` (and a margin
// for clock rates) of when it granted it.
struct LeaseRequest {
    std::int64_t stamp = 0;
    Epoch view_epoch{0};
    Term term{0};  // the term the node promised: a leader that sees a later one has been replaced
    bool operator==(const LeaseRequest&) const = default;
};
inline constexpr std::uint32_t kMaxLeaseMs = 3'600'000;
struct LeaseGrant {
    std::int64_t stamp = 0;
    std::uint32_t lease_ms = 0;
    Term term{0};
    bool operator==(const LeaseGrant&) const = default;
};

// Terms (term.h). A monitor claims `term` from every node in round 0: a node promises a term above
// the one it promised, and refuses any other (a monitor process never claims a term again, even
// one promised to its own id: a restarted monitor cannot know what its earlier process ordered).
// Later rounds ask again for the term promised to this monitor (a leader checking that it still
// leads), confirmed by the nodes that promised it and refused by the rest. The answer names the
// term the node has promised now and to whom (what a refused claimant must beat, and whether a
// leader is up), and its epoch (the new leader's epochs are above it).
struct TermClaim {
    Term term{0};
    std::uint64_t round = 0;
    bool operator==(const TermClaim&) const = default;
};
struct TermPromise {
    Term term{0};
    std::uint64_t round = 0;
    bool ok = false;
    Term promised{0};
    NodeId promised_to{0};
    Epoch epoch{0};
    bool operator==(const TermPromise&) const = default;
};
// Monitors tell each other, every snapshot interval, the newest term they know and whether they
// lead it: a standby claims a term only when no monitor before it in the configured list is up,
// and no leader has been heard for a while. A leader also says the ring's view (whose members a
// standby's snapshots ask) and the newest epoch whose token it knows is born: a standby judges a
// cut that finds no token only in an epoch it was told of before the snapshot began (a view's
// members hold its epoch before its token is ordered: no token then is no loss).
struct MonitorHello {
    Term term{0};
    bool leading = false;
    Epoch view_epoch{0};  // 0: the configured ring
    Bytes members;        // the view's (view_bitmap); empty: the configured ring
    Epoch born{0};
    bool operator==(const MonitorHello&) const = default;
};

// `ring recover`: an operator asks the monitor to recover now, in `mode` (acknowledged ok when the
// recovery was ordered, not ok when it cannot be done; the monitor says why).
struct RecoverRequest {
    std::uint64_t command_id;
    RecoverMode mode;
    bool operator==(const RecoverRequest&) const = default;
};

// The ring's first node, starting, asks its successor whether the ring already has a token; the
// answer decides whether it makes one (a fresh ring) or waits for the token to come round (a
// restart), so restarting the first node never makes a second token.
struct RingQuery {
    bool operator==(const RingQuery&) const = default;
};
struct RingState {
    bool had_token = false;  // the answering process has held a token
    Epoch epoch{1};          // its current epoch
    bool operator==(const RingState&) const = default;
};
// `ring rekey`, one step at a time to every node and the monitor, each acknowledged before the
// next step starts anywhere: prepare (load the key file at `path`, check that its fingerprint is
// `fingerprint`, accept datagrams under it too), switch_over (send under it), commit (forget the old
// key and write the new one over the configured key_file), or abort (forget the new key).
enum class RekeyStep : std::uint8_t { prepare = 1, switch_over = 2, commit = 3, abort = 4 };
inline constexpr std::size_t kMaxKeyPathBytes = 1024;
struct RekeyCommand {
    std::uint64_t command_id;
    RekeyStep step;
    std::uint64_t fingerprint;
    std::string path;  // absolute, on the node's host; prepare only
    bool operator==(const RekeyCommand&) const = default;
};
// `ring status`: a tool asks a node or the monitor how it is doing; the answer is a list of named
// figures (bounded: kMaxStatusValues names of up to kMaxStatusNameBytes each), so that a newer
// process can report more without a new message type.
struct StatusQuery {
    std::uint64_t command_id;
    bool operator==(const StatusQuery&) const = default;
};
inline constexpr std::size_t kMaxStatusValues = 64;
inline constexpr std::size_t kMaxStatusNameBytes = 32;
struct StatusReply {
    std::uint64_t command_id;
    std::vector<std::pair<std::string, std::int64_t>> values;
    bool operator==(const StatusReply&) const = default;
};
struct CommandAck {
    std::uint64_t command_id;
    bool ok;
    bool operator==(const CommandAck&) const = default;
};

using Message = std::variant<Token, MarkerMessage, SnapshotStart, SnapshotReport, InjectCommand, SendCommand, CommandAck, ImpairCommand, RingQuery,
                             RingState, RecoverCommand, KeepSnapshot, RecoverRequest, RekeyCommand, StatusQuery, StatusReply, ViewOrder, IssueToken,
                             LeaseRequest, LeaseGrant, TermClaim, TermPromise, MonitorHello>;

enum class MessageError : std::uint8_t { none, empty, unknown_type, truncated, bad_value, too_long, trailing_bytes };
std::string_view to_string(MessageError e);
std::string_view to_string(InjectKind k);
std::string_view to_string(RekeyStep s);
std::string_view to_string(RecoverMode m);
std::string_view to_string(TokenKind k);

MessageError decode_message(std::span<const std::uint8_t> bytes, Message& out);
// Cheap test of the type byte alone (the simulator's ground-truth accounting uses it).
bool is_token_message(std::span<const std::uint8_t> bytes);
// The same for the messages the drivers (not the cores) act on: RekeyCommand (it reads and writes
// key files) and StatusQuery (it reports the driver's counters too).
bool is_driver_message(std::span<const std::uint8_t> bytes);
Bytes encode_message(const Message& m);

}  // namespace ringwatch
