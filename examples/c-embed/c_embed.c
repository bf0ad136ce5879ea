/* SPDX-License-Identifier: Apache-2.0 */
/* c-embed: libagentcore from C, through the C API (bindings/c/include/agentcore/agentcore_c.h)
 * alone. It
 *   1. feeds a Tymbal transcript to a stream parser in pieces and assembles its messages;
 *   2. routes a message's @mentions against a roster;
 *   3. walks a run through its state machine;
 *   4. opens a hub on a SQLite file in a temporary directory, subscribes to a channel, adds an
 *      agent that checks in by itself, posts to it and answers as it, and prints what the
 *      subscription receives.
 * Output (checked by examples/c-embed/check.sh): one line per fact, then "done". Exit code 0
 * when every step worked. */

#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentcore/agentcore_c.h>

/* Prints the failed step with the library's message ("<code name>: <text>") and exits. */
static void die(const char* step, char* err) {
  fprintf(stderr, "c-embed: %s: %s\n", step, err != NULL ? err : "failed");
  ac_free(err);
  exit(1);
}

/* --- 1. Tymbal: frames in, messages out */

static void on_frame(void* user, const ac_frame_t* frame, uint64_t line) {
  ac_assembler_t* assembler = user;
  (void)line;
  if (ac_assembler_apply(assembler, frame, NULL) != AC_ASSEMBLY_COMPLETED) return;
  const ac_message_t* m = ac_assembler_message(assembler);
  printf("transcript: %s: %s\n", ac_message_value_string(m, "sender", NULL),
         ac_message_value_string(m, "content", NULL));
}

static void on_invalid_line(void* user, uint64_t line, const char* reason) {
  (void)user;
  (void)reason; /* the parser's words, e.g. what JSON it expected */
  printf("transcript: line %llu is not a frame\n", (unsigned long long)line);
}

static void assemble_transcript(void) {
  /* A reply streamed in text mode, a malformed line, a message set in one frame; cut in
   * arbitrary places, as a network delivers it. */
  const char* pieces[] = {
      "{\"i\":\"01JGZ5V7A1B2C3D4E5F6G7H8J1\",\"m\":{\"sender\":\"echo\"}}\n{\"i\":\"01JGZ5V7A1",
      "B2C3D4E5F6G7H8J1\",\"a\":\"Hello, \"}\n{\"i\":\"01JGZ5V7A1B2C3D4E5F6G7H8J1\",\"a\":\"world\"}\n"
      "{oops\n{\"i\":\"01JGZ5V7A1B2C3D4E5F6G7H8J1\",\"t\":\"2026-01-04T10:00:00.000Z\",\"v\":{",
      "\"sender\":\"echo\",\"content\":\"Hello, world\"}}\n"
      "{\"i\":\"01JGZ5V7A1B2C3D4E5F6G7H8J2\",\"t\":\"2026-01-04T10:00:01.000Z\","
      "\"v\":{\"sender\":\"alice\",\"content\":\"thanks\"}}"};
  ac_assembler_t* assembler = ac_assembler_create(0, 0);
  ac_frame_parser_t* parser = ac_frame_parser_create(0);
  ac_frame_sink sink = {on_frame, on_invalid_line, assembler};
  char* err = NULL;
  for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; ++i) {
    if (ac_frame_parser_feed(parser, pieces[i], strlen(pieces[i]), &sink, &err) != AC_OK) {
      die("feed", err);
    }
  }
  if (ac_frame_parser_finish(parser, &sink, &err) != AC_OK) die("finish", err);
  ac_frame_parser_destroy(parser);
  ac_assembler_destroy(assembler);
}

/* --- 2. Mentions and routing */

static void route_mentions(void) {
  const char* content = "@Bob can you check this with @carol and @dan?";
  const char* agents[] = {"alice", "bob", "carol"};
  const char* users[] = {"dan"};
  char* err = NULL;
  ac_roster_t* roster = ac_roster_create(agents, 3, "alice", users, 1, &err);
  ac_mentions_t* mentions = ac_mentions_parse(content, strlen(content), &err);
  ac_routing_t* routing = ac_route_message(mentions, AC_SENDER_HUMAN, roster, NULL, &err);
  if (routing == NULL) die("route", err);
  printf("routing: addressed");
  for (size_t i = 0; i < ac_routing_target_count(routing); ++i) {
    printf(" %s", ac_routing_target(routing, i));
  }
  printf(", invoked");
  for (size_t i = 0; i < ac_routing_invocation_count(routing); ++i) {
    printf(" %s", ac_routing_invocation(routing, i));
  }
  char* stripped = ac_mentions_strip(content, strlen(content), NULL, &err);
  printf(", text \"%s\"\n", stripped);
  ac_free(stripped);
  ac_routing_destroy(routing);
  ac_mentions_destroy(mentions);
  ac_roster_destroy(roster);
}

/* --- 3. A run's state machine */

static void walk_a_run(void) {
  const int events[] = {AC_RUN_EV_CLAIM, AC_RUN_EV_START_BUILD, AC_RUN_EV_COMPLETE,
                        AC_RUN_EV_CANCEL};
  int state = AC_RUN_QUEUED;
  printf("run: %s", ac_enum_name(AC_ENUM_RUN_STATE, state));
  for (size_t i = 0; i < sizeof events / sizeof events[0]; ++i) {
    char* err = NULL;
    const int next = ac_run_state_next(state, events[i], &err);
    if (next < 0) {
      printf(", %s refused (%s)", ac_enum_name(AC_ENUM_RUN_EVENT, events[i]), err);
      ac_free(err);
      continue;
    }
    state = next;
    printf(" -> %s", ac_enum_name(AC_ENUM_RUN_STATE, state));
  }
  printf("\n");
}

/* --- 4. The hub */

/* The subscription's callback may run on several threads at once: one lock for stdout. */
static pthread_mutex_t print_mu = PTHREAD_MUTEX_INITIALIZER;

/* Prints the messages among the channel's lines: set frames whose value has a content. */
static void on_line(void* user, const char* channel_id, const char* line, size_t len,
                    const char* event_id, uint64_t seq) {
  (void)user;
  (void)channel_id;
  (void)event_id;
  (void)seq;
  ac_frame_t* frame = ac_frame_parse(line, len, NULL);
  const char* sender = ac_frame_value_string(frame, "sender", NULL);
  const char* content = ac_frame_value_string(frame, "content", NULL);
  if (ac_frame_kind_of(frame) == AC_FRAME_SET && sender != NULL && content != NULL) {
    pthread_mutex_lock(&print_mu);
    printf("live: @%s: %s\n", sender, content);
    pthread_mutex_unlock(&print_mu);
  }
  ac_frame_destroy(frame);
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void run_a_hub(void) {
  char dir[] = "/tmp/c-embed.XXXXXX";
  if (mkdtemp(dir) == NULL) die("mkdtemp", NULL);
  char url[128], data[128];
  snprintf(url, sizeof url, "sqlite://%s/hub.db", dir);
  snprintf(data, sizeof data, "%s/agents", dir);

  char* err = NULL;
  ac_hub_options_t* options = ac_hub_options_create();
  if (ac_hub_options_set_store_url(options, url, &err) != AC_OK ||
      ac_hub_options_set_data_dir(options, data, &err) != AC_OK) {
    die("options", err);
  }
  ac_hub_t* hub = ac_hub_open(options, &err);
  ac_hub_options_destroy(options);
  if (hub == NULL) die("open", err);

  if (ac_hub_ensure_space(hub, "demo", "Demo", "alice", &err) != AC_OK) die("space", err);
  char* channel = ac_hub_create_channel(hub, "demo", "ops", &err);
  if (channel == NULL) die("channel", err);
  ac_subscription_t* subscription = ac_hub_subscribe(hub, channel, on_line, NULL, &err);
  if (subscription == NULL) die("subscribe", err);

  /* The agent "bot" has no command here: it runs elsewhere and checks in by itself. */
  char agent[128];
  snprintf(agent, sizeof agent, "demo:%s:bot", channel);
  if (ac_hub_add_agent(hub, agent, "bot", &err) != AC_OK) die("add agent", err);
  if (ac_hub_agent_checkin(hub, agent, "http://127.0.0.1:9", &err) < 0) die("checkin", err);
  if (ac_hub_agent_heartbeat(hub, agent, NULL, &err) != AC_OK) die("heartbeat", err);
  printf("hub: bot online: %s\n", ac_hub_agent_is_online(hub, agent, &err) == 1 ? "yes" : "no");

  ac_posted_t* posted = ac_hub_post_message(hub, "demo", channel, "alice", "@bot status?", NULL, &err);
  if (posted == NULL) die("post", err);
  printf("hub: posted seq %llu to %zu agent(s): %s\n", (unsigned long long)ac_posted_seq(posted),
         ac_posted_target_count(posted), ac_posted_target(posted, 0));
  ac_posted_destroy(posted);
  /* The bot's answer, posted as an agent (an agent mentioning nobody addresses nobody). */
  posted = ac_hub_post_message(hub, "demo", channel, "bot", "all systems nominal", "agent", &err);
  if (posted == NULL) die("answer", err);
  ac_posted_destroy(posted);

  /* Errors are values: an unknown channel. */
  if (ac_hub_post_message(hub, "demo", "01JGZ5V7A1B2C3D4E5F6G7H8J9", "alice", "hi", NULL, &err) ==
      NULL) {
    printf("hub: %s\n", err);
    ac_free(err);
    err = NULL;
  }

  ac_hub_unsubscribe(hub, subscription);
  ac_free(channel);
  ac_hub_close(hub); /* ends the subscriptions, stops what the hub started */
  nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
  printf("agentcore %s\n", ac_version());
  assemble_transcript();
  route_mentions();
  walk_a_run();
  run_a_hub();
  printf("done\n");
  return 0;
}
