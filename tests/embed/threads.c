/* libperk's thread-safety contract (perk.h): one engine shared by many threads. Writers post
 * events for their own client, each twice (the retry must get the original effects back);
 * readers read clients and totals meanwhile. At the end every total, balance and ledger seq
 * must be exactly what a serial run gives.
 *
 *   threads PROGRAM.perk jit|interp      (the program of examples/embed/welcome.perk) */
#include <perk/perk.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kWriters = 8, kReaders = 2, kEvents = 150 };

static perk_engine* engine;
static atomic_int failures;
static atomic_int writers_left = kWriters;
static unsigned char seq_seen[kWriters * kEvents * 3 + 1];
static pthread_mutex_t seq_mu = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char* what, const char* detail) {
  fprintf(stderr, "FAIL: %s: %s\n", what, detail);
  atomic_fetch_add(&failures, 1);
}

/* Marks each "seq":N of a ledger text; a seq seen twice is a failure. */
static void mark_seqs(const char* ledger, size_t n) {
  const char* p = ledger;
  const char* end = ledger + n;
  pthread_mutex_lock(&seq_mu);
  while ((p = strstr(p, "\"seq\":")) && p < end) {
    long seq = strtol(p + 6, NULL, 10);
    if (seq <= 0 || seq >= (long)sizeof(seq_seen)) fail("seq out of range", p);
    else if (seq_seen[seq]++) fail("seq written twice", p);
    p += 6;
  }
  pthread_mutex_unlock(&seq_mu);
}

static void* writer(void* arg) {
  int w = (int)(long)arg;
  char record[256];
  for (int k = 0; k < kEvents; ++k) {
    /* Every event at one time: arrival order across threads cannot make one out of order. */
    snprintf(record, sizeof record,
             "{\"type\":\"deposit\",\"id\":\"w%d-%d\",\"client\":\"c%d\",\"time\":\"2026-01-05T10:00:00Z\","
             "\"amount\":\"%d.00\",\"first\":%s}",
             w, k, w, 100 + k, k == 0 ? "true" : "false");
    perk_result* first = NULL;
    perk_result* retry = NULL;
    if (perk_process(engine, record, strlen(record), &first) != PERK_SUCCESS) {
      fail("process", perk_last_error());
      continue;
    }
    if (perk_process(engine, record, strlen(record), &retry) != PERK_SUCCESS) {
      fail("retry", perk_last_error());
      perk_result_free(first);
      continue;
    }
    size_t n1 = 0, n2 = 0;
    const char* e1 = perk_result_ledger(first, &n1);
    const char* e2 = perk_result_ledger(retry, &n2);
    if (perk_result_record_status(first, 0) != PERK_RECORD_ACCEPTED) fail("first post not accepted", record);
    if (perk_result_record_status(retry, 0) != PERK_RECORD_DUPLICATE) fail("retry not a duplicate", record);
    if (n1 == 0) fail("no effects", record);
    if (n1 != n2 || memcmp(e1, e2, n1) != 0) fail("retry effects differ from the original's", record);
    mark_seqs(e1, n1);
    perk_result_free(first);
    perk_result_free(retry);
  }
  atomic_fetch_sub(&writers_left, 1);
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  while (atomic_load(&writers_left) > 0) {
    char* json = NULL;
    perk_status s = perk_client_json(engine, "c0", &json, NULL);
    if (s == PERK_SUCCESS) {
      if (!strstr(json, "\"points\":")) fail("client json without points", json);
      perk_free(json);
    } else if (s != PERK_ERR_NOT_FOUND) {
      fail("client", perk_last_error());
    }
    perk_counts c;
    if (perk_stats(engine, &c) != PERK_SUCCESS) fail("stats", perk_last_error());
    else if (c.accepted + c.duplicates != c.records) fail("stats", "accepted + duplicates != records");
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PROGRAM.perk jit|interp\n", argv[0]);
    return 2;
  }
  perk_options options;
  perk_options_init(&options);
  options.engine = argv[2];
  if (perk_open(argv[1], &options, &engine) != PERK_SUCCESS) {
    fprintf(stderr, "cannot open %s: %s\n", argv[1], perk_last_error());
    return 2;
  }
  pthread_t threads[kWriters + kReaders];
  for (long k = 0; k < kWriters; ++k) pthread_create(&threads[k], NULL, writer, (void*)k);
  for (long k = 0; k < kReaders; ++k) pthread_create(&threads[kWriters + k], NULL, reader, NULL);
  for (int k = 0; k < kWriters + kReaders; ++k) pthread_join(threads[k], NULL);

  perk_counts c;
  perk_stats(engine, &c);
  char detail[256];
  if (c.accepted != kWriters * kEvents || c.duplicates != kWriters * kEvents) {
    snprintf(detail, sizeof detail, "accepted %llu, duplicates %llu", (unsigned long long)c.accepted,
             (unsigned long long)c.duplicates);
    fail("totals", detail);
  }
  /* Per client: the welcome bonus (30% of 100.00) and a point per 10 USD of each deposit. */
  long points = 0;
  for (int k = 0; k < kEvents; ++k) points += (100 + k) / 10;
  for (int w = 0; w < kWriters; ++w) {
    char id[16], want[128];
    snprintf(id, sizeof id, "c%d", w);
    snprintf(want, sizeof want, "\"wallets\":{\"bonus\":\"30.00\",\"points\":%ld}", points);
    char* json = NULL;
    if (perk_client_json(engine, id, &json, NULL) != PERK_SUCCESS) {
      fail("client", perk_last_error());
      continue;
    }
    if (!strstr(json, want)) fail(want, json);
    perk_free(json);
  }
  for (unsigned long s = 1; s <= c.effects; ++s)
    if (!seq_seen[s]) {
      snprintf(detail, sizeof detail, "seq %lu was never returned", s);
      fail("ledger", detail);
      break;
    }
  perk_close(engine);
  int n = atomic_load(&failures);
  printf("threads: %d writers x %d events (each retried), %d readers: %s\n", kWriters, kEvents, kReaders,
         n ? "FAILED" : "ok");
  return n ? 1 : 0;
}
