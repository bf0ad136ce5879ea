/* SPDX-License-Identifier: Apache-2.0 */
/* The hub through the C API: open and close, channels, posting, subscriptions, agents. Each
 * test opens its own hub on a SQLite file in a fresh temporary directory. */

#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* --- A scratch directory and a hub in it */

typedef struct scratch {
  char dir[64];
  char url[128];
  ac_hub_t* hub;
  char* channel;     /* "ops" in space "demo" */
  char agent_id[128]; /* "demo:<channel>:bot", not on the roster yet */
} scratch;

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Opens a hub on <dir>/hub.db with space "demo" (owner alice) and its channel "ops"; when
 * `agent_argv` is not NULL, the local process runtime runs it for agents of type "worker". */
static int open_scratch_with(scratch* s, const char* const* agent_argv, size_t agent_argc) {
  snprintf(s->dir, sizeof s->dir, "/tmp/ac-c-api.XXXXXX");
  if (mkdtemp(s->dir) == NULL) return 0;
  snprintf(s->url, sizeof s->url, "sqlite://%s/hub.db", s->dir);
  char data[96];
  snprintf(data, sizeof data, "%s/agents", s->dir);
  char* err = NULL;
  ac_hub_options_t* options = ac_hub_options_create();
  ac_hub_options_set_store_url(options, s->url, &err);
  ac_hub_options_set_data_dir(options, data, &err);
  if (agent_argv != NULL) {
    ac_hub_options_set_agent_command(options, "worker", agent_argv, agent_argc, &err);
  }
  s->hub = ac_hub_open(options, &err);
  ac_hub_options_destroy(options);
  if (s->hub == NULL || ac_hub_ensure_space(s->hub, "demo", "Demo", "alice", &err) != AC_OK ||
      (s->channel = ac_hub_create_channel(s->hub, "demo", "ops", &err)) == NULL) {
    fprintf(stderr, "open_scratch: %s\n", err != NULL ? err : "?");
    ac_free(err);
    return 0;
  }
  snprintf(s->agent_id, sizeof s->agent_id, "demo:%s:bot", s->channel);
  return 1;
}

static int open_scratch(scratch* s) { return open_scratch_with(s, NULL, 0); }

static void close_scratch(scratch* s) {
  ac_free(s->channel);
  ac_hub_close(s->hub);
  nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* --- What a subscription received (callbacks may run on several threads) */

typedef struct recorder {
  pthread_mutex_t mu;
  int lines;
  int matching; /* lines containing `needle` */
  const char* needle;
  char last_event_id[64];
  uint64_t last_seq;
  ac_hub_t* hub;               /* for the subscription that ends itself */
  ac_subscription_t* self;     /* ditto */
  int in_callback;             /* record_slowly's calls running now */
} recorder;

static void recorder_init(recorder* r, const char* needle) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  r->needle = needle;
}

static void record(void* user, const char* channel_id, const char* line, size_t line_len,
                   const char* event_id, uint64_t seq) {
  recorder* r = user;
  (void)channel_id;
  pthread_mutex_lock(&r->mu);
  ++r->lines;
  if (strlen(line) == line_len && r->needle != NULL && strstr(line, r->needle) != NULL) {
    ++r->matching;
    snprintf(r->last_event_id, sizeof r->last_event_id, "%s", event_id);
    r->last_seq = seq;
  }
  pthread_mutex_unlock(&r->mu);
}

static void record_once_then_unsubscribe(void* user, const char* channel_id, const char* line,
                                         size_t line_len, const char* event_id, uint64_t seq) {
  recorder* r = user;
  record(user, channel_id, line, line_len, event_id, seq);
  ac_hub_unsubscribe(r->hub, r->self); /* inside its own callback: returns at once */
}

/* Marks the callback as running for a millisecond, so that an unsubscribe on another thread
 * has something to wait for (a real callback must not block). */
static void record_slowly(void* user, const char* channel_id, const char* line, size_t line_len,
                          const char* event_id, uint64_t seq) {
  recorder* r = user;
  pthread_mutex_lock(&r->mu);
  ++r->in_callback;
  pthread_mutex_unlock(&r->mu);
  struct timespec pause = {0, 1000000};
  nanosleep(&pause, NULL);
  record(user, channel_id, line, line_len, event_id, seq);
  pthread_mutex_lock(&r->mu);
  --r->in_callback;
  pthread_mutex_unlock(&r->mu);
}

static int matching(recorder* r) {
  pthread_mutex_lock(&r->mu);
  const int n = r->matching;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* --- Tests */

static void a_hub_opens_and_refuses_a_second_hub_on_the_same_file(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  char* err = NULL;
  ac_hub_options_t* options = ac_hub_options_create();
  CHECK(ac_hub_options_set_store_url(options, s.url, &err) == AC_OK);
  CHECK(ac_hub_open(options, &err) == NULL);
  CHECK(ac_test_contains(err, "another agentcore server uses"));
  CHECK_ERROR(err, AC_UNAVAILABLE);
  ac_hub_options_destroy(options);
  close_scratch(&s);
}

static void bad_options_and_dead_stores_are_errors(void) {
  char* err = NULL;
  CHECK(ac_hub_open(NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  ac_hub_options_t* options = ac_hub_options_create();
  CHECK(ac_hub_options_set_store_url(options, NULL, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_options_set_store_url(NULL, "x", &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_options_set_data_dir(options, "\xff", &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  const char* argv[] = {"/bin/true", NULL};
  CHECK(ac_hub_options_set_agent_command(options, "bot", argv, 0, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_options_set_agent_command(options, "bot", argv, 2, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_options_set_agent_command(options, "bot", argv, 1, &err) == AC_OK);
  CHECK(ac_hub_options_set_api_url(options, "http://127.0.0.1:1", &err) == AC_OK);
  /* A PostgreSQL server that is not there. */
  CHECK(ac_hub_options_set_store_url(options, "postgres://nobody@127.0.0.1:1/none", &err) == AC_OK);
  CHECK(ac_hub_open(options, &err) == NULL);
  CHECK(err != NULL && ac_error_code(err) != AC_OK);
  ac_free(err);
  err = NULL;
  /* A SQLite file in a directory that does not exist. */
  CHECK(ac_hub_options_set_store_url(options, "sqlite:///nonexistent-dir/x/hub.db", &err) == AC_OK);
  CHECK(ac_hub_open(options, &err) == NULL);
  CHECK(err != NULL);
  ac_free(err);
  ac_hub_options_destroy(options);
}

static void channels_are_created_once_per_name(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  char* err = NULL;
  CHECK(strlen(s.channel) == 26); /* a ULID */
  char* id = ac_hub_create_channel(s.hub, "demo", "ops-2", &err);
  CHECK(id != NULL && strcmp(id, s.channel) != 0);
  CHECK(ac_hub_create_channel(s.hub, "demo", "ops", &err) == NULL);
  CHECK_ERROR(err, AC_ALREADY_EXISTS);
  CHECK(ac_hub_create_channel(s.hub, "demo", "", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_create_channel(s.hub, "demo", "bad\xc3(", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_create_channel(s.hub, NULL, "ops2", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_create_channel(NULL, "demo", "ops2", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_ensure_space(s.hub, NULL, "x", NULL, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  ac_free(id);
  close_scratch(&s);
}

static void a_posted_message_reaches_its_subscribers_with_its_event_id(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  char* err = NULL;
  const char* channel = s.channel;
  const char* agent_id = s.agent_id;
  /* No command for "bot": the agent starts elsewhere and only checks in. */
  CHECK(ac_hub_add_agent(s.hub, agent_id, "bot", &err) == AC_OK);

  recorder one, every, once;
  recorder_init(&one, "hello @bot");
  recorder_init(&every, "hello @bot");
  recorder_init(&once, "\"c\":");
  ac_subscription_t* sub = ac_hub_subscribe(s.hub, channel, record, &one, &err);
  ac_subscription_t* all = ac_hub_subscribe(s.hub, "*", record, &every, &err);
  once.hub = s.hub;
  once.self = ac_hub_subscribe(s.hub, channel, record_once_then_unsubscribe, &once, &err);
  REQUIRE(sub != NULL && all != NULL && once.self != NULL);

  ac_posted_t* posted = ac_hub_post_message(s.hub, "demo", channel, "alice", "hello @bot", NULL, &err);
  REQUIRE(posted != NULL);
  CHECK(err == NULL);
  CHECK(ac_posted_target_count(posted) == 1);
  CHECK_STR(ac_posted_target(posted, 0), "bot");
  CHECK(ac_posted_target(posted, 1) == NULL);
  CHECK(!ac_posted_is_broadcast(posted));
  CHECK(ac_posted_seq(posted) > 0);
  /* Published on this thread before the post returned. */
  CHECK(matching(&one) == 1);
  CHECK(matching(&every) == 1);
  CHECK_STR(one.last_event_id, ac_posted_id(posted));
  CHECK(one.last_seq == ac_posted_seq(posted));
  CHECK(once.lines == 1);
  ac_posted_destroy(posted);

  ac_hub_unsubscribe(s.hub, sub);
  ac_hub_unsubscribe(s.hub, sub); /* a second time: ignored */
  posted = ac_hub_post_message(s.hub, "demo", channel, "alice", "hello @bot again", "user", &err);
  CHECK(posted != NULL);
  ac_posted_destroy(posted);
  CHECK(matching(&one) == 1);   /* unsubscribed */
  CHECK(matching(&every) == 2); /* still subscribed */
  CHECK(once.lines == 1);       /* ended itself */
  ac_hub_unsubscribe(s.hub, all);
  close_scratch(&s);
  pthread_mutex_destroy(&one.mu);
  pthread_mutex_destroy(&every.mu);
  pthread_mutex_destroy(&once.mu);
}

/* Posts 40 messages to the scratch channel from another thread. */
static void* post_many(void* arg) {
  scratch* s = arg;
  for (int i = 0; i < 40; ++i) {
    ac_posted_t* posted = ac_hub_post_message(s->hub, "demo", s->channel, "alice", "tick", NULL, NULL);
    ac_posted_destroy(posted);
  }
  return NULL;
}

static void unsubscribe_waits_for_a_callback_running_on_another_thread(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  recorder r;
  recorder_init(&r, "tick");
  ac_subscription_t* sub = ac_hub_subscribe(s.hub, s.channel, record_slowly, &r, NULL);
  REQUIRE(sub != NULL);
  pthread_t poster;
  REQUIRE(pthread_create(&poster, NULL, post_many, &s) == 0);
  while (matching(&r) < 3) {
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
  ac_hub_unsubscribe(s.hub, sub);
  pthread_mutex_lock(&r.mu);
  const int running = r.in_callback;
  const int seen = r.matching;
  pthread_mutex_unlock(&r.mu);
  CHECK(running == 0);     /* no call in flight once unsubscribe returned */
  pthread_join(poster, NULL);
  CHECK(matching(&r) == seen); /* and none after it */
  CHECK(seen < 40);
  close_scratch(&s);
  pthread_mutex_destroy(&r.mu);
}

static void posting_and_subscribing_refuse_bad_input(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  char* err = NULL;
  const char* channel = s.channel;
  recorder r;
  recorder_init(&r, NULL);
  CHECK(ac_hub_subscribe(s.hub, "01JGZ5V7A1B2C3D4E5F6G7H8J9", record, &r, &err) == NULL);
  CHECK_ERROR(err, AC_NOT_FOUND);
  CHECK(ac_hub_subscribe(s.hub, "bad\nid", record, &r, &err) == NULL);
  CHECK_ERROR(err, AC_NOT_FOUND);
  CHECK(ac_hub_subscribe(s.hub, channel, NULL, &r, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_subscribe(s.hub, NULL, record, &r, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_post_message(s.hub, "demo", "01JGZ5V7A1B2C3D4E5F6G7H8J9", "alice", "hi", NULL, &err) ==
        NULL);
  CHECK_ERROR(err, AC_NOT_FOUND);
  CHECK(ac_hub_post_message(s.hub, "other", channel, "alice", "hi", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_NOT_FOUND); /* another space's channel is not found */
  CHECK(ac_hub_post_message(s.hub, "demo", channel, "alice", "bad \xff utf-8", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_post_message(s.hub, "demo", channel, NULL, "hi", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_post_message(s.hub, "demo", channel, "alice", "", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_post_message(s.hub, "demo", channel, "alice", "hi", "robot", &err) == NULL);
  CHECK(ac_test_contains(err, "Invalid senderType"));
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(r.lines == 0);
  CHECK_STR(ac_posted_id(NULL), "");
  CHECK(ac_posted_target_count(NULL) == 0);
  close_scratch(&s);
  pthread_mutex_destroy(&r.mu);
}

static void an_agent_checks_in_heartbeats_and_is_online(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  char* err = NULL;
  const char* agent_id = s.agent_id;
  CHECK(ac_hub_agent_is_online(s.hub, agent_id, &err) == 0); /* not even on the roster */
  CHECK(ac_hub_agent_checkin(s.hub, agent_id, "http://127.0.0.1:9", &err) == -1);
  CHECK_ERROR(err, AC_NOT_FOUND);
  CHECK(ac_hub_add_agent(s.hub, agent_id, "bot", &err) == AC_OK);
  CHECK(ac_hub_add_agent(s.hub, agent_id, "bot", &err) == AC_ALREADY_EXISTS);
  CHECK_ERROR(err, AC_ALREADY_EXISTS);
  CHECK(ac_hub_agent_is_online(s.hub, agent_id, &err) == 0);
  CHECK(ac_hub_agent_checkin(s.hub, agent_id, "http://127.0.0.1:9", &err) == 0);
  CHECK(err == NULL);
  CHECK(ac_hub_agent_is_online(s.hub, agent_id, &err) == 1);
  int64_t at = 0;
  CHECK(ac_hub_agent_heartbeat(s.hub, agent_id, &at, &err) == AC_OK);
  CHECK(at > 1700000000000LL);
  CHECK(ac_hub_agent_heartbeat(s.hub, agent_id, NULL, &err) == AC_OK);
  char* token = ac_hub_container_token(s.hub, agent_id, &err);
  CHECK(token != NULL && strchr(token, '.') != NULL);
  ac_free(token);
  ac_hub_sweep(s.hub); /* the heartbeat is fresh: still online */
  CHECK(ac_hub_agent_is_online(s.hub, agent_id, &err) == 1);
  CHECK(err == NULL);
  close_scratch(&s);
}

/* Waits up to 10 s for `path` to hold a pid; 0 when it does not. */
static long wait_for_pid_file(const char* path) {
  for (int i = 0; i < 1000; ++i) {
    FILE* f = fopen(path, "r");
    long pid = 0;
    if (f != NULL) {
      const int got = fscanf(f, "%ld", &pid);
      fclose(f);
      if (got == 1 && pid > 1) return pid;
    }
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, NULL);
  }
  return 0;
}

static void the_local_process_runtime_starts_an_agent_and_close_stops_it(void) {
  char marker[160];
  snprintf(marker, sizeof marker, "/tmp/ac-c-api-worker.%ld", (long)getpid());
  char script[256];
  snprintf(script, sizeof script, "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 30", marker,
           marker, marker);
  const char* argv[] = {"/bin/sh", "-c", script};
  scratch s;
  REQUIRE(open_scratch_with(&s, argv, 3));
  char agent_id[160];
  snprintf(agent_id, sizeof agent_id, "demo:%s:builder", s.channel);
  char* err = NULL;
  CHECK(ac_hub_add_agent(s.hub, agent_id, "worker", &err) == AC_OK); /* starts the process */
  CHECK(err == NULL);
  const long pid = wait_for_pid_file(marker);
  CHECK(pid > 1);
  CHECK(ac_hub_agent_is_online(s.hub, agent_id, &err) == 0); /* it never checks in */
  close_scratch(&s); /* stops it */
  if (pid > 1) CHECK(kill((pid_t)pid, 0) == -1 && errno == ESRCH);
  remove(marker);
}

static void agent_calls_refuse_malformed_ids_and_unknown_agents(void) {
  scratch s;
  REQUIRE(open_scratch(&s));
  char* err = NULL;
  CHECK(ac_hub_add_agent(s.hub, "demo:nochannel", "bot", &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_add_agent(s.hub, NULL, "bot", &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_add_agent(s.hub, "demo:01JGZ5V7A1B2C3D4E5F6G7H8J9:bot", NULL, &err) ==
        AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_agent_checkin(s.hub, "a::c", "http://x", &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_agent_checkin(s.hub, "demo:01JGZ5V7A1B2C3D4E5F6G7H8J9:bot", NULL, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_agent_heartbeat(s.hub, "demo:01JGZ5V7A1B2C3D4E5F6G7H8J9:bot", NULL, &err) ==
        AC_NOT_FOUND);
  CHECK_ERROR(err, AC_NOT_FOUND);
  CHECK(ac_hub_agent_heartbeat(NULL, "a:b:c", NULL, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_agent_is_online(s.hub, "\xff:b:c", &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_hub_container_token(s.hub, "x", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  close_scratch(&s);
}

const ac_test_case ac_hub_tests[] = {
    {"a hub opens and refuses a second hub on the same file",
     a_hub_opens_and_refuses_a_second_hub_on_the_same_file},
    {"bad options and dead stores are errors", bad_options_and_dead_stores_are_errors},
    {"channels are created once per name", channels_are_created_once_per_name},
    {"a posted message reaches its subscribers with its event id",
     a_posted_message_reaches_its_subscribers_with_its_event_id},
    {"unsubscribe waits for a callback running on another thread",
     unsubscribe_waits_for_a_callback_running_on_another_thread},
    {"posting and subscribing refuse bad input", posting_and_subscribing_refuse_bad_input},
    {"an agent checks in, heartbeats and is online", an_agent_checks_in_heartbeats_and_is_online},
    {"the local process runtime starts an agent and close stops it",
     the_local_process_runtime_starts_an_agent_and_close_stops_it},
    {"agent calls refuse malformed ids and unknown agents",
     agent_calls_refuse_malformed_ids_and_unknown_agents},
    {NULL, NULL}};
