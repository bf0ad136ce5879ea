// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: the asynchronous writes (AppendMessageAsync, UpdateMessageAsync,
// UpsertCostAsync). Included by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

namespace agentcore::conformance {

// Collects the callbacks of async writes (on whatever thread they run) and waits for them.
template <typename T>
class Completions {
 public:
  // A callback storing its result at `index`.
  std::function<void(T)> At(std::size_t index) {
    {
      std::lock_guard lock(mu_);
      if (results_.size() <= index) results_.resize(index + 1);
    }
    return [this, index](T result) {
      std::lock_guard lock(mu_);
      results_[index] = std::move(result);
      order_.push_back(index);
      cv_.notify_all();
    };
  }
  // True once `n` callbacks ran (within kFeedWait).
  bool WaitFor(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kFeedWait, [&] { return order_.size() >= n; });
  }
  T& result(std::size_t index) {
    std::lock_guard lock(mu_);
    REQUIRE(results_[index].has_value());
    return *results_[index];
  }
  std::vector<std::size_t> order() {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<T>> results_;
  std::vector<std::size_t> order_;  // indexes in callback order
};

}  // namespace agentcore::conformance

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  AGENTCORE_STORE_CASE("an async append completes after its commit, with the stored message") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "async hello");
    in.metadata = Json::Object();
    in.metadata.Set("k", "v");
    in.addressed_agents = std::vector<std::string>{"writer"};
    // What the callback sees: the message is already readable (committed) when it runs.
    std::mutex mu;
    std::optional<Result<Message>> seen;
    bool visible = false;
    std::condition_variable cv;
    f.store().AppendMessageAsync(in, [&](Result<Message> r) {
      bool found = r.ok() && f.store().GetMessage(r->id).ok();  // reads are allowed here
      std::lock_guard lock(mu);
      seen = std::move(r);
      visible = found;
      cv.notify_all();
    });
    {
      std::unique_lock lock(mu);
      REQUIRE(cv.wait_for(lock, kFeedWait, [&] { return seen.has_value(); }));
    }
    REQUIRE_MESSAGE(seen->ok(), seen->status().ToString());
    CHECK(visible);
    const Message& m = **seen;
    CHECK(IsUlid(m.id));
    CHECK(m.space_id == w.space.id);
    CHECK(m.channel_id == w.channel.id);
    CHECK(m.timestamp == f.clock().NowMillis());
    CHECK(m.content == Json("async hello"));
    CHECK(m.metadata == in.metadata);
    CHECK(m.addressed_agents == in.addressed_agents);
    Message got = Must(f.store().GetMessage(m.id));
    CHECK(got.content == Json("async hello"));
    CHECK(got.metadata == in.metadata);
  }

  AGENTCORE_STORE_CASE("async writes report the errors of the blocking calls and write nothing") {
    F f;
    World w = MakeWorld(f.store());
    Message taken = Must(f.store().AppendMessage(TextMessage(w.channel, "first")));
    Completions<Result<Message>> messages;
    Completions<Status> costs;

    NewMessage bad_utf8 = TextMessage(w.channel, kBadUtf8);
    f.store().AppendMessageAsync(bad_utf8, messages.At(0));
    NewMessage no_channel = TextMessage(w.channel, "x");
    no_channel.channel_id = "no-such-channel";
    f.store().AppendMessageAsync(no_channel, messages.At(1));
    NewMessage duplicate = TextMessage(w.channel, "again");
    duplicate.id = taken.id;
    f.store().AppendMessageAsync(duplicate, messages.At(2));
    NewMessage other_space = TextMessage(w.channel, "y");
    other_space.space_id = "space-other";
    f.store().AppendMessageAsync(other_space, messages.At(3));
    MessagePatch patch;
    patch.content = Json("patched");
    f.store().UpdateMessageAsync("no-such-message", patch, messages.At(4));
    f.store().UpdateMessageAsync("", patch, messages.At(5));
    CostRecord cost;
    cost.channel_id = "no-such-channel";
    cost.callsign = "writer";
    cost.cost_usd = 1;
    f.store().UpsertCostAsync(cost, costs.At(0));
    CostRecord negative;
    negative.channel_id = w.channel.id;
    negative.callsign = "writer";
    negative.cost_usd = -1;
    f.store().UpsertCostAsync(negative, costs.At(1));

    REQUIRE(messages.WaitFor(6));
    REQUIRE(costs.WaitFor(2));
    CHECK(CodeOf(messages.result(0)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(messages.result(1)) == ErrorCode::kNotFound);
    CHECK(CodeOf(messages.result(2)) == ErrorCode::kAlreadyExists);
    CHECK(CodeOf(messages.result(3)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(messages.result(4)) == ErrorCode::kNotFound);
    CHECK(CodeOf(messages.result(5)) == ErrorCode::kInvalidArgument);
    CHECK(costs.result(0).code() == ErrorCode::kNotFound);
    CHECK(costs.result(1).code() == ErrorCode::kInvalidArgument);
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
    CHECK(Must(f.store().GetMessage(taken.id)).content == Json("first"));
    CHECK(Must(f.store().ListCosts(w.channel.id)).empty());
  }

  AGENTCORE_STORE_CASE("async writes of one caller commit and complete in submission order") {
    F f;
    World w = MakeWorld(f.store());
    constexpr std::size_t kN = 200;
    Completions<Result<Message>> done;
    std::vector<std::string> ids;
    UlidGenerator ulids;
    for (std::size_t i = 0; i < kN; ++i) {
      NewMessage m = TextMessage(w.channel, "m" + std::to_string(i));
      m.id = ulids.Next();
      ids.push_back(m.id);
      f.store().AppendMessageAsync(std::move(m), done.At(2 * i));
      // Not waiting for the append: the update queued after it must see the row.
      MessagePatch patch;
      patch.content = Json("u" + std::to_string(i));
      patch.is_complete = false;
      f.store().UpdateMessageAsync(ids.back(), patch, done.At(2 * i + 1));
    }
    REQUIRE(done.WaitFor(2 * kN));
    std::vector<std::size_t> order = done.order();
    for (std::size_t i = 0; i < order.size(); ++i) CHECK(order[i] == i);
    for (std::size_t i = 0; i < kN; ++i) {
      REQUIRE_MESSAGE(done.result(2 * i).ok(), done.result(2 * i).status().ToString());
      REQUIRE_MESSAGE(done.result(2 * i + 1).ok(), done.result(2 * i + 1).status().ToString());
      CHECK(done.result(2 * i + 1)->content == Json("u" + std::to_string(i)));
      CHECK_FALSE(done.result(2 * i + 1)->is_complete);
    }
    CHECK(MessageCount(f.store(), w.channel.id) == kN);
    Message last = Must(f.store().GetMessage(ids.back()));
    CHECK(last.content == Json("u" + std::to_string(kN - 1)));
  }

  AGENTCORE_STORE_CASE("async writes from many threads all complete, and cost upserts apply") {
    F f;
    World w = MakeWorld(f.store());
    constexpr std::size_t kThreads = 4;
    constexpr std::size_t kEach = 50;
    Completions<Result<Message>> done;
    for (std::size_t i = 0; i < kThreads * kEach; ++i) (void)done.At(i);  // sized up front
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (std::size_t i = 0; i < kEach; ++i) {
          f.store().AppendMessageAsync(TextMessage(w.channel, "t"), done.At(t * kEach + i));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    REQUIRE(done.WaitFor(kThreads * kEach));
    std::set<std::string> unique;
    for (std::size_t i = 0; i < kThreads * kEach; ++i) {
      REQUIRE(done.result(i).ok());
      unique.insert(done.result(i)->id);
    }
    CHECK(unique.size() == kThreads * kEach);
    CHECK(MessageCount(f.store(), w.channel.id) == kThreads * kEach);

    Completions<Status> costs;
    CostRecord cost;
    cost.channel_id = w.channel.id;
    cost.callsign = "writer";
    cost.cost_usd = 1.5;
    cost.num_turns = 3;
    f.store().UpsertCostAsync(cost, costs.At(0));
    cost.cost_usd = 2.5;
    f.store().UpsertCostAsync(cost, costs.At(1));
    REQUIRE(costs.WaitFor(2));
    MustOk(costs.result(0));
    MustOk(costs.result(1));
    std::vector<CostRecord> stored = Must(f.store().ListCosts(w.channel.id));
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].cost_usd == 2.5);
    CHECK(stored[0].space_id == w.space.id);
  }

  AGENTCORE_STORE_CASE("an async write's callback may queue another async write") {
    F f;
    World w = MakeWorld(f.store());
    Completions<Result<Message>> done;
    auto second = done.At(1);
    auto first = done.At(0);
    f.store().AppendMessageAsync(
        TextMessage(w.channel, "one"), [&, first, second](Result<Message> r) mutable {
          // A store lock held here would deadlock the nested write.
          f.store().AppendMessageAsync(TextMessage(w.channel, "two"), second);
          first(std::move(r));
        });
    REQUIRE(done.WaitFor(2));
    REQUIRE(done.result(0).ok());
    REQUIRE(done.result(1).ok());
    CHECK(done.result(0)->id < done.result(1)->id);
    CHECK(MessageCount(f.store(), w.channel.id) == 2);
  }

  AGENTCORE_STORE_CASE("an async completion reports its outcome after the commit, in order") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage start = TextMessage(w.channel, "", "writer");
    start.is_complete = false;
    Message open = Must(f.store().AppendMessage(start));
    NewMessage final_state = TextMessage(w.channel, "final", "writer");
    final_state.id = open.id;
    Completions<Result<CompletedMessage>> done;
    // Submitted back to back from one thread: committed and called back in that order.
    f.store().CompleteMessageAsync(final_state, done.At(0));
    f.store().CompleteMessageAsync(final_state, done.At(1));
    NewMessage no_id = TextMessage(w.channel, "x");
    f.store().CompleteMessageAsync(no_id, done.At(2));
    REQUIRE(done.WaitFor(3));
    CHECK(Must(done.result(0)).outcome == MessageCompletion::kCompleted);
    CHECK(Must(done.result(1)).outcome == MessageCompletion::kAlreadyComplete);
    CHECK(CodeOf(done.result(2)) == ErrorCode::kInvalidArgument);
    Message got = Must(f.store().GetMessage(open.id));
    CHECK(got.is_complete);
    CHECK(got.content == Json("final"));
  }
}
