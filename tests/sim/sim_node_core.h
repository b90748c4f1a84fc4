// What the simulator needs of a ring member's core (Node's caller's contract, ring/core/node.h),
// behind one interface, so that a run can use the ring's Node or a deliberately broken one
// (mutants.h) for the checkers' self-tests.
#pragma once

#include "ring/core/node_impl.h"
#include "ring/core/node_process.h"

namespace ringwatch::sim {

class SimNodeCore {
public:
    virtual ~SimNodeCore() = default;
    virtual void on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes) = 0;
    virtual void on_timer(Instant now) = 0;
    virtual bool send_app(Instant now, NodeId to, Bytes payload) = 0;
    virtual void inject(Instant now, InjectKind kind) = 0;
    virtual void take_output(NodeOutput& out) = 0;
    virtual std::optional<Instant> next_deadline() const = 0;
    virtual const NodeView& view() const = 0;
    virtual std::optional<NodeId> predecessor() const = 0;
    // A whole copy (ringcheck copies whole processes; explorer.h).
    virtual std::unique_ptr<SimNodeCore> clone() const = 0;
};

// A core type made clonable: every core is made as Cloned<T> (make_node_core), so that a copy of
// a process copies its core, mutant or not.
template <typename T>
class Cloned final : public T {
public:
    using T::T;
    std::unique_ptr<SimNodeCore> clone() const override { return std::make_unique<Cloned>(*this); }
};

template <typename Participant>
class NodeCoreOf : public SimNodeCore {
public:
    NodeCoreOf(NodeConfig config, Instant now) : node_(config, now) {}
    void on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes) override { node_.on_message(now, from, bytes); }
    void on_timer(Instant now) override { node_.on_timer(now); }
    bool send_app(Instant now, NodeId to, Bytes payload) override { return node_.send_app(now, to, std::move(payload)); }
    void inject(Instant now, InjectKind kind) override { node_.inject(now, kind); }
    void take_output(NodeOutput& out) override { node_.take_output(out); }
    std::optional<Instant> next_deadline() const override { return node_.next_deadline(); }
    const NodeView& view() const override { return node_.view(); }
    std::optional<NodeId> predecessor() const override { return node_.predecessor(); }

protected:
    BasicNode<Participant> node_;
};

// The core a simulated process runs, chosen at its start (the ring's node or a mutant), with the
// calls NodeProcess makes of its core.
class SimCoreHandle {
public:
    explicit SimCoreHandle(std::unique_ptr<SimNodeCore> core) : core_(std::move(core)) {}
    SimCoreHandle(SimCoreHandle&&) = default;
    SimCoreHandle& operator=(SimCoreHandle&&) = default;
    SimCoreHandle(const SimCoreHandle& o) : core_(o.core_->clone()) {}
    SimCoreHandle& operator=(const SimCoreHandle& o) { return *this = SimCoreHandle(o); }
    ~SimCoreHandle() = default;
    void on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes) { core_->on_message(now, from, bytes); }
    void on_timer(Instant now) { core_->on_timer(now); }
    bool send_app(Instant now, NodeId to, Bytes payload) { return core_->send_app(now, to, std::move(payload)); }
    void inject(Instant now, InjectKind kind) { core_->inject(now, kind); }
    void take_output(NodeOutput& out) { core_->take_output(out); }
    std::optional<Instant> next_deadline() const { return core_->next_deadline(); }
    const NodeView& view() const { return core_->view(); }
    std::optional<NodeId> predecessor() const { return core_->predecessor(); }

private:
    std::unique_ptr<SimNodeCore> core_;
};

// A ring member's process in the simulator: the production NodeProcess around the chosen core.
using SimNodeProcess = BasicNodeProcess<SimCoreHandle>;

}  // namespace ringwatch::sim
