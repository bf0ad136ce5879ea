// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: Messages, message pages and pending deliveries. Included by
// store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  // --- Messages ---------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("appends a message with a new ULID and reads it back unchanged") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "hello @writer");
    in.addressed_agents = std::vector<std::string>{"writer", "reviewer"};
    in.metadata = Json::Object();
    in.metadata.Set("method", "send_message");
    in.state = "pending";
    Message m = Must(f.store().AppendMessage(in));
    CHECK(IsUlid(m.id));
    CHECK(m.space_id == w.space.id);
    CHECK(m.timestamp == f.clock().NowMillis());
    Message got = Must(f.store().GetMessage(m.id));
    CHECK(got.id == m.id);
    CHECK(got.channel_id == w.channel.id);
    CHECK(got.space_id == w.space.id);
    CHECK(got.sender == "alice");
    CHECK(got.sender_type == "user");
    CHECK(got.type == "user");
    CHECK(got.content == Json("hello @writer"));
    CHECK(got.is_complete);
    CHECK(got.addressed_agents == in.addressed_agents);
    CHECK(got.metadata == in.metadata);
    CHECK(got.state == "pending");
    CHECK(got.timestamp == m.timestamp);
  }

  AGENTCORE_STORE_CASE("keeps structured content, empty mention lists and explicit timestamps") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "");
    auto parsed =
        ParseJson(R"({"kind":"tool_call","args":[1,2.5,"x",null,true,{"n":{}}],"u":"é✓😀"})");
    REQUIRE(parsed.ok());
    in.content = *parsed;
    in.addressed_agents = std::vector<std::string>{};
    in.timestamp = 42;
    in.is_complete = false;
    Message got = Must(f.store().GetMessage(Must(f.store().AppendMessage(in)).id));
    CHECK(got.content == *parsed);
    REQUIRE(got.addressed_agents.has_value());
    CHECK(got.addressed_agents->empty());
    CHECK(got.timestamp == 42);
    CHECK_FALSE(got.is_complete);
    CHECK(got.metadata.is_null());
    CHECK_FALSE(got.state.has_value());
  }

  AGENTCORE_STORE_CASE("refuses a message id that is taken and keeps the first message") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "first");
    in.id = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
    Must(f.store().AppendMessage(in));
    in.content = Json("second");
    CHECK(CodeOf(f.store().AppendMessage(in)) == ErrorCode::kAlreadyExists);
    CHECK(Must(f.store().GetMessage(in.id)).content == Json("first"));
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
  }

  AGENTCORE_STORE_CASE("refuses a message for a missing channel or for the wrong space") {
    F f;
    World w = MakeWorld(f.store());
    Channel ghost;
    ghost.id = "ghost";
    CHECK(CodeOf(f.store().AppendMessage(TextMessage(ghost, "x"))) == ErrorCode::kNotFound);
    NewMessage wrong = TextMessage(w.channel, "x");
    wrong.space_id = "other-space";
    CHECK(CodeOf(f.store().AppendMessage(wrong)) == ErrorCode::kInvalidArgument);
    NewMessage right = TextMessage(w.channel, "x");
    right.space_id = w.space.id;
    Must(f.store().AppendMessage(right));
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
  }

  AGENTCORE_STORE_CASE("updates a streaming message in place and completes it") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "Hel", "writer");
    in.is_complete = false;
    in.type = "agent";
    Message m = Must(f.store().AppendMessage(in));
    MessagePatch grow;
    grow.content = Json("Hello");
    Message a = Must(f.store().UpdateMessage(m.id, grow));
    CHECK(a.content == Json("Hello"));
    CHECK_FALSE(a.is_complete);
    MessagePatch done;
    done.is_complete = true;
    done.metadata = Json::Object();
    done.metadata->Set("fromTymbal", true);
    done.state = "completed";
    done.type = "agent_message";
    Message b = Must(f.store().UpdateMessage(m.id, done));
    CHECK(b.content == Json("Hello"));
    CHECK(b.is_complete);
    CHECK(b.type == "agent_message");
    CHECK(b.state == "completed");
    Message got = Must(f.store().GetMessage(m.id));
    CHECK(got.metadata == *done.metadata);
    CHECK(got.timestamp == m.timestamp);
    MessagePatch clear;
    clear.metadata = Json();
    CHECK(Must(f.store().UpdateMessage(m.id, clear)).metadata.is_null());
  }

  AGENTCORE_STORE_CASE("completes a message: inserts a new one, completes a streamed one once") {
    F f;
    World w = MakeWorld(f.store());
    // A new id: inserted, complete.
    NewMessage fresh = TextMessage(w.channel, "all at once", "writer");
    fresh.id = NewUlid();
    fresh.type = "agent";
    fresh.is_complete = false;  // ignored
    CHECK(Must(f.store().CompleteMessage(fresh)).outcome == MessageCompletion::kInserted);
    Message a = Must(f.store().GetMessage(fresh.id));
    CHECK(a.is_complete);
    CHECK(a.content == Json("all at once"));

    // A streamed message: completed with the final content, type and metadata; sender,
    // timestamp and addressed agents stay those of its start.
    NewMessage start = TextMessage(w.channel, "", "writer");
    start.is_complete = false;
    start.type = "agent";
    start.addressed_agents = std::vector<std::string>{"owl"};
    Message open = Must(f.store().AppendMessage(start));
    NewMessage final_state = TextMessage(w.channel, "the whole reply", "someone-else");
    final_state.id = open.id;
    final_state.type = "agent_message";
    final_state.metadata = Json::Object();
    final_state.metadata.Set("fromTymbal", true);
    CHECK(Must(f.store().CompleteMessage(final_state)).outcome == MessageCompletion::kCompleted);
    Message done = Must(f.store().GetMessage(open.id));
    CHECK(done.is_complete);
    CHECK(done.content == Json("the whole reply"));
    CHECK(done.type == "agent_message");
    CHECK(done.metadata == final_state.metadata);
    CHECK(done.sender == "writer");
    CHECK(done.timestamp == open.timestamp);
    REQUIRE(done.addressed_agents.has_value());
    CHECK(*done.addressed_agents == std::vector<std::string>{"owl"});

    // Again (a retried frame): nothing changes.
    NewMessage retry = final_state;
    retry.content = Json("something else");
    CHECK(Must(f.store().CompleteMessage(retry)).outcome == MessageCompletion::kAlreadyComplete);
    CHECK(Must(f.store().GetMessage(open.id)).content == Json("the whole reply"));
    CHECK(Must(f.store().CompleteMessage(fresh)).outcome == MessageCompletion::kAlreadyComplete);
  }

  AGENTCORE_STORE_CASE("refuses to complete another channel's message or bad input") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel other_in;
    other_in.space_id = w.space.id;
    other_in.name = "other";
    Channel other = Must(f.store().CreateChannel(other_in));
    NewMessage start = TextMessage(w.channel, "partial", "writer");
    start.is_complete = false;
    Message open = Must(f.store().AppendMessage(start));

    NewMessage wrong = TextMessage(other, "hijack", "writer");
    wrong.id = open.id;
    CHECK(CodeOf(f.store().CompleteMessage(wrong)) == ErrorCode::kAlreadyExists);
    NewMessage no_id = TextMessage(w.channel, "x");
    CHECK(CodeOf(f.store().CompleteMessage(no_id)) == ErrorCode::kInvalidArgument);
    NewMessage bad = TextMessage(w.channel, kBadUtf8);
    bad.id = open.id;
    CHECK(CodeOf(f.store().CompleteMessage(bad)) == ErrorCode::kInvalidArgument);
    NewMessage missing = TextMessage(w.channel, "x");
    missing.id = NewUlid();
    missing.channel_id = "no-such-channel";
    CHECK(CodeOf(f.store().CompleteMessage(missing)) == ErrorCode::kNotFound);
    // The open message is untouched by all of it.
    Message still = Must(f.store().GetMessage(open.id));
    CHECK_FALSE(still.is_complete);
    CHECK(still.content == Json("partial"));
  }

  AGENTCORE_STORE_CASE("deletes a message and reports missing messages as not found") {
    F f;
    World w = MakeWorld(f.store());
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "bye")));
    MustOk(f.store().DeleteMessage(m.id));
    CHECK(CodeOf(f.store().GetMessage(m.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().DeleteMessage(m.id)) == ErrorCode::kNotFound);
    MessagePatch p;
    p.content = Json("x");
    CHECK(CodeOf(f.store().UpdateMessage(m.id, p)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().GetMessage("")) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("rejects invalid UTF-8 anywhere in a message and stores nothing") {
    F f;
    World w = MakeWorld(f.store());
    const std::vector<std::string> bad = {kBadUtf8, kLoneSurrogate, kOverlong,
                                          std::string("\xe2\x82", 2),
                                          std::string("\xf5\x80\x80\x80")};
    for (const std::string& b : bad) {
      CAPTURE(b.size());
      NewMessage content = TextMessage(w.channel, b);
      CHECK(CodeOf(f.store().AppendMessage(content)) == ErrorCode::kInvalidArgument);
      NewMessage key = TextMessage(w.channel, "");
      key.content = Json::Object();
      key.content.Set(b, "v");
      CHECK(CodeOf(f.store().AppendMessage(key)) == ErrorCode::kInvalidArgument);
      NewMessage nested = TextMessage(w.channel, "");
      nested.content = Json(JsonArray{Json(JsonArray{Json(b)})});
      CHECK(CodeOf(f.store().AppendMessage(nested)) == ErrorCode::kInvalidArgument);
      NewMessage sender = TextMessage(w.channel, "ok", b);
      CHECK(CodeOf(f.store().AppendMessage(sender)) == ErrorCode::kInvalidArgument);
      NewMessage agents = TextMessage(w.channel, "ok");
      agents.addressed_agents = std::vector<std::string>{"fine", b};
      CHECK(CodeOf(f.store().AppendMessage(agents)) == ErrorCode::kInvalidArgument);
      NewMessage meta = TextMessage(w.channel, "ok");
      meta.metadata = Json::Object();
      meta.metadata.Set("k", b);
      CHECK(CodeOf(f.store().AppendMessage(meta)) == ErrorCode::kInvalidArgument);
    }
    CHECK(MessageCount(f.store(), w.channel.id) == 0);
  }

  AGENTCORE_STORE_CASE("rejects invalid UTF-8 in a message update and keeps the old content") {
    F f;
    World w = MakeWorld(f.store());
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "good")));
    MessagePatch p;
    p.content = Json(kBadUtf8);
    CHECK(CodeOf(f.store().UpdateMessage(m.id, p)) == ErrorCode::kInvalidArgument);
    MessagePatch q;
    q.state = kLoneSurrogate;
    CHECK(CodeOf(f.store().UpdateMessage(m.id, q)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetMessage(m.id)).content == Json("good"));
  }

  AGENTCORE_STORE_CASE("rejects oversized content and stores nothing") {
    F f;
    World w = MakeWorld(f.store());
    const std::size_t limit = SqliteStoreOptions().max_content_bytes;
    // As JSON the string gains two quotes: limit - 2 characters fit exactly.
    Message fits =
        Must(f.store().AppendMessage(TextMessage(w.channel, std::string(limit - 2, 'a'))));
    CHECK(CodeOf(f.store().AppendMessage(TextMessage(w.channel, std::string(limit - 1, 'a')))) ==
          ErrorCode::kInvalidArgument);
    MessagePatch grow;
    grow.content = Json(std::string(limit, 'b'));
    CHECK(CodeOf(f.store().UpdateMessage(fits.id, grow)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetMessage(fits.id)).content.as_string().front() == 'a');
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
  }

  AGENTCORE_STORE_CASE("rejects NUL bytes, JSON nested too deep and oversized keys in messages") {
    F f;
    World w = MakeWorld(f.store());
    CHECK(CodeOf(f.store().AppendMessage(TextMessage(w.channel, std::string("a\0b", 3)))) ==
          ErrorCode::kInvalidArgument);
    Json deep = Json("leaf");
    for (int i = 0; i < kMaxJsonDepth + 1; ++i) deep = Json(JsonArray{deep});
    NewMessage d = TextMessage(w.channel, "");
    d.content = deep;
    CHECK(CodeOf(f.store().AppendMessage(d)) == ErrorCode::kInvalidArgument);
    NewMessage long_id = TextMessage(w.channel, "x");
    long_id.id = std::string(kMaxKeyBytes + 1, '0');
    CHECK(CodeOf(f.store().AppendMessage(long_id)) == ErrorCode::kInvalidArgument);
    NewMessage no_sender = TextMessage(w.channel, "x", "");
    CHECK(CodeOf(f.store().AppendMessage(no_sender)) == ErrorCode::kInvalidArgument);
    NewMessage no_channel = TextMessage(w.channel, "x");
    no_channel.channel_id = "";
    CHECK(CodeOf(f.store().AppendMessage(no_channel)) == ErrorCode::kInvalidArgument);
    CHECK(MessageCount(f.store(), w.channel.id) == 0);
  }

  AGENTCORE_STORE_CASE("keeps a channel's last_active_at at its newest message") {
    F f;
    World w = MakeWorld(f.store());
    f.clock().Advance(100);
    Message a = Must(f.store().AppendMessage(TextMessage(w.channel, "a")));
    CHECK(Must(f.store().GetChannel(w.channel.id)).last_active_at == a.timestamp);
    NewMessage old = TextMessage(w.channel, "backfilled");
    old.timestamp = 5;  // an older timestamp never moves it back
    Must(f.store().AppendMessage(old));
    CHECK(Must(f.store().GetChannel(w.channel.id)).last_active_at == a.timestamp);
  }

  // --- Message pages ----------------------------------------------------------------------------

  // Appends n messages ("m0".."m<n-1>" as content) with store-made, increasing ids.
  template <typename Fx>
  std::vector<std::string> Fill(Fx & f, const Channel& ch, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(Must(f.store().AppendMessage(TextMessage(ch, "m" + std::to_string(i)))).id);
      f.clock().Advance(1);
    }
    return ids;
  }

  std::vector<std::string> Slice(const std::vector<std::string>& v, std::size_t from,
                                 std::size_t to) {
    return std::vector<std::string>(v.begin() + static_cast<std::ptrdiff_t>(from),
                                    v.begin() + static_cast<std::ptrdiff_t>(to));
  }

  AGENTCORE_STORE_CASE("lists the newest page oldest first when no cursor is given") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 12);
    PageRequest page;
    page.limit = 5;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 7, 12));
    CHECK(p.has_more);
    page.limit = 12;
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == ids);
    CHECK_FALSE(p.has_more);
  }

  AGENTCORE_STORE_CASE("pages forward with after until has_more is false") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 11);
    PageRequest page;
    page.limit = 4;
    page.after = "";  // before every id
    std::vector<std::string> seen;
    std::vector<bool> more;
    for (;;) {
      MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
      for (auto& id : Ids(p.messages)) seen.push_back(id);
      more.push_back(p.has_more);
      if (!p.has_more) break;
      page.after = p.messages.back().id;
    }
    CHECK(seen == ids);
    CHECK(more == std::vector<bool>{true, true, false});
    page.after = ids.back();
    MessagePage end = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(end.messages.empty());
    CHECK_FALSE(end.has_more);
  }

  AGENTCORE_STORE_CASE("pages backward with before, each page oldest first") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 10);
    PageRequest page;
    page.limit = 4;
    page.before = ids[9];
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 5, 9));
    CHECK(p.has_more);
    page.before = ids[5];
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 1, 5));
    CHECK(p.has_more);
    page.before = ids[1];
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 0, 1));
    CHECK_FALSE(p.has_more);
  }

  AGENTCORE_STORE_CASE("reads between two cursors and uses cursors that are not message ids") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 10);
    PageRequest page;
    page.after = ids[2];
    page.before = ids[8];
    page.limit = 3;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 3, 6));
    CHECK(p.has_more);
    page.limit = 5;
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 3, 8));
    CHECK_FALSE(p.has_more);
    PageRequest beyond;
    beyond.after = "~";  // sorts after every ULID
    CHECK(Must(f.store().ListMessages(w.channel.id, beyond)).messages.empty());
    PageRequest all;
    all.before = "~";
    all.limit = 100;
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, all)).messages) == ids);
  }

  // --- Message order: the store's seq, never the id (issue 13) ------------------------------

  // Appends a message with the given (caller-chosen) id and content.
  template <typename Fx>
  Message AppendWithId(Fx & f, const Channel& ch, const std::string& id, const std::string& text) {
    NewMessage in = TextMessage(ch, text);
    in.id = id;
    return Must(f.store().AppendMessage(in));
  }

  AGENTCORE_STORE_CASE("gives each message a seq that grows with every insert, store-wide") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel other_in;
    other_in.space_id = w.space.id;
    other_in.name = "other";
    Channel other = Must(f.store().CreateChannel(other_in));
    Message a = Must(f.store().AppendMessage(TextMessage(w.channel, "a")));
    Message b = Must(f.store().AppendMessage(TextMessage(other, "b")));
    Message c = AppendWithId(f, w.channel, "00000000000000000000000000", "c");  // smallest id
    CHECK(a.seq > 0);
    CHECK(b.seq > a.seq);
    CHECK(c.seq > b.seq);
    CHECK(Must(f.store().GetMessage(c.id)).seq == c.seq);
    // Listed in insertion order, whatever the ids say.
    auto page = Must(f.store().ListMessages(w.channel.id, PageRequest{}));
    CHECK(Ids(page.messages) == std::vector<std::string>{a.id, c.id});
    CHECK(page.messages[1].seq == c.seq);
  }

  AGENTCORE_STORE_CASE("a message with a future-time id does not take the newest slot") {
    F f;
    World w = MakeWorld(f.store());
    auto before = Fill(f, w.channel, 3);
    Message future = AppendWithId(f, w.channel, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "future");
    auto after = Fill(f, w.channel, 2);
    PageRequest newest;
    newest.limit = 2;
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, newest)).messages) == after);
    PageRequest since;
    since.after = future.id;  // the cursor stands at the message's place, not at its id
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, since)).messages) == after);
    PageRequest until;
    until.before = after[0];
    until.limit = 2;
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, until)).messages) ==
          std::vector<std::string>{before[2], future.id});
    PageRequest between;
    between.after = before[1];
    between.before = after[1];
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, between)).messages) ==
          std::vector<std::string>{before[2], future.id, after[0]});
  }

  AGENTCORE_STORE_CASE("a deleted message's id as cursor stands where the message stood") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 6);
    MustOk(f.store().DeleteMessage(ids[3]));
    PageRequest since;
    since.after = ids[3];
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, since)).messages) == Slice(ids, 4, 6));
    PageRequest until;
    until.before = ids[3];
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, until)).messages) == Slice(ids, 0, 3));
    // Garbage below every id: before everything; above every id: after the newest id.
    PageRequest all;
    all.after = "0";
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, all)).messages).size() == 5);
    PageRequest none;
    none.before = "0";
    CHECK(Must(f.store().ListMessages(w.channel.id, none)).messages.empty());
  }

  AGENTCORE_STORE_CASE("never hands a deleted message's seq out again and keeps seq on update") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage streaming = TextMessage(w.channel, "");
    streaming.is_complete = false;
    Message open = Must(f.store().AppendMessage(streaming));
    Message newest = Must(f.store().AppendMessage(TextMessage(w.channel, "newest")));
    MustOk(f.store().DeleteMessage(newest.id));
    Message next = Must(f.store().AppendMessage(TextMessage(w.channel, "next")));
    CHECK(next.seq > newest.seq);
    MessagePatch patch;
    patch.content = Json("grown");
    CHECK(Must(f.store().UpdateMessage(open.id, patch)).seq == open.seq);
    NewMessage final_state = TextMessage(w.channel, "done");
    final_state.id = open.id;
    CompletedMessage done = Must(f.store().CompleteMessage(final_state));
    CHECK(done.outcome == MessageCompletion::kCompleted);
    CHECK(done.seq == open.seq);  // an edited message stays in place
    CHECK(Must(f.store().CompleteMessage(final_state)).seq == open.seq);
    auto page = Must(f.store().ListMessages(w.channel.id, PageRequest{}));
    CHECK(Ids(page.messages) == std::vector<std::string>{open.id, next.id});
  }

  AGENTCORE_STORE_CASE("clamps the page limit to between 1 and kMaxPageSize") {
    F f;
    World w = MakeWorld(f.store());
    Fill(f, w.channel, 3);
    PageRequest zero;
    zero.limit = 0;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, zero));
    CHECK(p.messages.size() == 1);
    CHECK(p.has_more);
    PageRequest huge;
    huge.limit = kMaxPageSize * 10;
    CHECK(Must(f.store().ListMessages(w.channel.id, huge)).messages.size() == 3);
  }

  AGENTCORE_STORE_CASE("keeps a page to one channel") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel c;
    c.space_id = w.space.id;
    c.name = "other";
    Channel other = Must(f.store().CreateChannel(c));
    auto mine = Fill(f, w.channel, 3);
    Fill(f, other, 3);
    auto more = Fill(f, w.channel, 2);
    PageRequest page;
    page.limit = 100;
    auto got = Ids(Must(f.store().ListMessages(w.channel.id, page)).messages);
    mine.insert(mine.end(), more.begin(), more.end());
    CHECK(got == mine);
  }

  AGENTCORE_STORE_CASE("filters a page for an agent: messages addressed to it or sent by it") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<std::string> expected;
    auto add = [&](std::string sender, std::optional<std::vector<std::string>> to, bool keep) {
      NewMessage m = TextMessage(w.channel, "x", std::move(sender));
      m.addressed_agents = std::move(to);
      std::string id = Must(f.store().AppendMessage(m)).id;
      if (keep) expected.push_back(id);
    };
    add("alice", std::vector<std::string>{"writer"}, true);
    add("alice", std::vector<std::string>{"reviewer"}, false);
    add("writer", std::nullopt, true);
    add("alice", std::nullopt, false);
    add("alice", std::vector<std::string>{"reviewer", "writer"}, true);
    add("alice", std::vector<std::string>{"writer2"}, false);  // a prefix is not a match
    add("reviewer", std::vector<std::string>{}, false);
    PageRequest page;
    page.for_agent = "writer";
    page.limit = 2;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(expected, 1, 3));
    CHECK(p.has_more);
    page.limit = 10;
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == expected);
    CHECK_FALSE(p.has_more);
    page.after = expected[0];
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, page)).messages) == Slice(expected, 1, 3));
  }

  AGENTCORE_STORE_CASE("filters a page by message types") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<std::string> kept;
    const char* types[] = {"user", "tool_call", "agent_message", "thinking", "user"};
    for (const char* t : types) {
      NewMessage m = TextMessage(w.channel, "x");
      m.type = t;
      std::string id = Must(f.store().AppendMessage(m)).id;
      if (std::string_view(t) == "user" || std::string_view(t) == "agent_message") {
        kept.push_back(id);
      }
    }
    PageRequest page;
    page.types = {"user", "agent_message"};
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == kept);
    page.types = {"nothing"};
    CHECK(Must(f.store().ListMessages(w.channel.id, page)).messages.empty());
  }

  AGENTCORE_STORE_CASE("lists an empty channel as an empty page and a missing one as not found") {
    F f;
    World w = MakeWorld(f.store());
    MessagePage p = Must(f.store().ListMessages(w.channel.id, PageRequest{}));
    CHECK(p.messages.empty());
    CHECK_FALSE(p.has_more);
    CHECK(CodeOf(f.store().ListMessages("ghost", PageRequest{})) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListMessages("", PageRequest{})) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("rejects malformed page requests") {
    F f;
    World w = MakeWorld(f.store());
    PageRequest a;
    a.after = kBadUtf8;
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, a)) == ErrorCode::kInvalidArgument);
    PageRequest b;
    b.before = std::string(kMaxKeyBytes + 1, 'Z');
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, b)) == ErrorCode::kInvalidArgument);
    PageRequest c;
    c.for_agent = kLoneSurrogate;
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, c)) == ErrorCode::kInvalidArgument);
    PageRequest d;
    d.types = {"user", ""};
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, d)) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("treats SQL metacharacters in cursors and filters as data") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 3);
    for (const std::string& s : SqlMetaStrings()) {
      CAPTURE(s);
      PageRequest page;
      page.for_agent = s;
      page.types = {s};
      page.before = s;
      CHECK(Must(f.store().ListMessages(w.channel.id, page)).messages.empty());
      PageRequest after;
      after.after = s;
      auto got = Must(f.store().ListMessages(w.channel.id, after));
      std::vector<std::string> later;  // plain string comparison, as for any cursor
      for (const std::string& id : ids) {
        if (id > s) later.push_back(id);
      }
      CHECK(Ids(got.messages) == later);
    }
    CHECK(MessageCount(f.store(), w.channel.id) == 3);
  }

  // --- Pending deliveries -----------------------------------------------------------------------

  AGENTCORE_STORE_CASE("hands out a pending delivery at least once until it is acknowledged") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "@writer go")));
    PendingDelivery d;
    d.channel_id = w.channel.id;
    d.callsign = "writer";
    d.message_id = m.id;
    MustOk(f.store().EnqueuePending(d));
    MustOk(f.store().EnqueuePending(d));  // twice is a no-op
    auto first = Must(f.store().TakePending(w.channel.id, "writer", 10));
    REQUIRE(first.size() == 1);
    CHECK(first[0].message_id == m.id);
    CHECK(first[0].attempts == 1);
    CHECK(first[0].enqueued_at == f.clock().NowMillis());
    auto second = Must(f.store().TakePending(w.channel.id, "writer", 10));  // not acked: again
    REQUIRE(second.size() == 1);
    CHECK(second[0].attempts == 2);
    MustOk(f.store().AckPending(w.channel.id, "writer", {m.id, "unknown-id"}));
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 10)).empty());
    MustOk(f.store().AckPending(w.channel.id, "writer", {m.id}));  // acking again is harmless
  }

  AGENTCORE_STORE_CASE("takes pending deliveries oldest message first and at most limit") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Must(f.store().AddRosterEntry(Agent(w.channel, "reviewer")));
    auto ids = Fill(f, w.channel, 5);
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {  // queued newest first
      MustOk(f.store().EnqueuePending({w.channel.id, "writer", *it, 0, 0}));
    }
    MustOk(f.store().EnqueuePending({w.channel.id, "reviewer", ids[0], 0, 0}));
    auto got = Must(f.store().TakePending(w.channel.id, "writer", 3));
    REQUIRE(got.size() == 3);
    CHECK(got[0].message_id == ids[0]);
    CHECK(got[1].message_id == ids[1]);
    CHECK(got[2].message_id == ids[2]);
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 0)).empty());
    MustOk(f.store().AckPending(w.channel.id, "writer", {ids[0], ids[1], ids[2]}));
    auto rest = Must(f.store().TakePending(w.channel.id, "writer", 100));
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].attempts == 1);
    CHECK(Must(f.store().TakePending(w.channel.id, "reviewer", 100)).size() == 1);
  }

  AGENTCORE_STORE_CASE("refuses pending deliveries for missing roster entries or messages") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "x")));
    CHECK(CodeOf(f.store().EnqueuePending({w.channel.id, "nobody", m.id, 0, 0})) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().EnqueuePending({w.channel.id, "writer", "no-message", 0, 0})) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().TakePending(w.channel.id, "nobody", 10)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().EnqueuePending({w.channel.id, "", m.id, 0, 0})) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().AckPending(w.channel.id, "writer", {kBadUtf8})) ==
          ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 10)).empty());
  }

  AGENTCORE_STORE_CASE("drops pending deliveries with their roster entry or message") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Must(f.store().AddRosterEntry(Agent(w.channel, "reviewer")));
    Message a = Must(f.store().AppendMessage(TextMessage(w.channel, "a")));
    Message b = Must(f.store().AppendMessage(TextMessage(w.channel, "b")));
    MustOk(f.store().EnqueuePending({w.channel.id, "writer", a.id, 0, 0}));
    MustOk(f.store().EnqueuePending({w.channel.id, "writer", b.id, 0, 0}));
    MustOk(f.store().EnqueuePending({w.channel.id, "reviewer", a.id, 0, 0}));
    MustOk(f.store().DeleteMessage(a.id));
    auto left = Must(f.store().TakePending(w.channel.id, "writer", 10));
    REQUIRE(left.size() == 1);
    CHECK(left[0].message_id == b.id);
    CHECK(Must(f.store().TakePending(w.channel.id, "reviewer", 10)).empty());
    MustOk(f.store().RemoveRosterEntry(w.channel.id, "writer"));
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));  // same callsign, fresh queue
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 10)).empty());
  }

}  // TEST_SUITE("StoreConformance")
