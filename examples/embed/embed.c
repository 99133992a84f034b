/* Calling Perk from C through libperk: open a program, process a record and a batch, retry an
 * event, take effects through a callback, read a client, handle errors.
 *
 *   cc embed.c $(pkg-config --cflags --libs perk) -o embed && ./embed welcome.perk jit
 *
 * embed.cpp (the C++ wrapper) and embed.py (ctypes) do the same steps and print the same
 * transcript; tests/embed/run_embed.py checks all three against expected.txt. */
#include <perk/perk.h>
#include <stdio.h>
#include <string.h>

static const char* kStatus[] = {"accepted", "duplicate", "rejected"};

/* Prints JSON Lines indented, one per line. */
static void print_lines(const char* text, size_t length) {
  size_t start = 0;
  while (start < length) {
    const char* nl = memchr(text + start, '\n', length - start);
    size_t end = nl ? (size_t)(nl - text) : length;
    printf("  %.*s\n", (int)(end - start), text + start);
    start = end + 1;
  }
}

static int print_effect(void* user, const char* json, size_t length) {
  int* count = (int*)user;
  ++*count;
  printf("  callback: %.*s\n", (int)length, json);
  return 0;
}

static int process(perk_engine* engine, const char* title, const char* jsonl) {
  perk_result* result = NULL;
  if (perk_process(engine, jsonl, strlen(jsonl), &result) != PERK_SUCCESS) {
    printf("process failed: %s\n", perk_last_error());
    return 1;
  }
  perk_counts c;
  perk_result_counts(result, &c);
  printf("%s: %llu records, %llu accepted, %llu duplicates, %llu rejected, %llu effects\n", title,
         (unsigned long long)c.records, (unsigned long long)c.accepted, (unsigned long long)c.duplicates,
         (unsigned long long)c.rejected, (unsigned long long)c.effects);
  for (size_t k = 0; k < perk_result_record_count(result); ++k) {
    size_t n = 0;
    const char* effects = perk_result_record_effects(result, k, &n);
    printf(" record %zu: %s\n", k + 1, kStatus[perk_result_record_status(result, k)]);
    print_lines(effects, n);
  }
  size_t n = 0;
  const char* rejects = perk_result_rejects(result, &n);
  if (n) {
    printf(" rejects:\n");
    print_lines(rejects, n);
  }
  perk_result_free(result);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PROGRAM.perk jit|interp\n", argv[0]);
    return 2;
  }
  printf("libperk %s\n", perk_version());

  const char* params[] = {"rate=25%"};
  perk_options options;
  perk_options_init(&options);
  options.engine = argv[2];
  options.params = params;
  options.param_count = 1;
  perk_engine* engine = NULL;
  if (perk_open(argv[1], &options, &engine) != PERK_SUCCESS) {
    fprintf(stderr, "cannot open %s: %s\n", argv[1], perk_last_error());
    return 1;
  }
  printf("opened the program with rate=25%%\n");

  int failed = 0;
  failed |= process(engine, "one record",
                    "{\"type\":\"deposit\",\"id\":\"d1\",\"client\":\"c1\",\"time\":\"2026-01-05T10:00:00Z\","
                    "\"amount\":\"250.00\",\"first\":true}");
  /* A batch: a new client, a retry of d1 (its original effects come back, nothing new is
   * written), and a record with a money amount the program cannot hold. */
  failed |= process(engine, "batch",
                    "{\"type\":\"deposit\",\"id\":\"d2\",\"client\":\"c2\",\"time\":\"2026-01-05T11:00:00Z\",\"amount\":80}\n"
                    "{\"type\":\"deposit\",\"id\":\"d1\",\"client\":\"c1\",\"time\":\"2026-01-05T10:00:00Z\","
                    "\"amount\":\"250.00\",\"first\":true}\n"
                    "{\"type\":\"deposit\",\"id\":\"d3\",\"client\":\"c2\",\"time\":\"2026-01-05T12:00:00Z\",\"amount\":\"10.001\"}\n");

  const char* more = "{\"type\":\"deposit\",\"id\":\"d4\",\"client\":\"c1\",\"time\":\"2026-01-06T09:00:00Z\",\"amount\":40}";
  int seen = 0;
  perk_counts counts;
  if (perk_process_each(engine, more, strlen(more), print_effect, &seen, &counts) != PERK_SUCCESS) {
    printf("process failed: %s\n", perk_last_error());
    failed = 1;
  }
  printf("callback saw %d effects of %llu\n", seen, (unsigned long long)counts.effects);

  char* json = NULL;
  size_t length = 0;
  if (perk_client_json(engine, "c1", &json, &length) == PERK_SUCCESS) {
    printf("client c1: %.*s\n", (int)length, json);
    perk_free(json);
  }
  perk_status s = perk_client_json(engine, "nobody", &json, &length);
  printf("client nobody: status %d: %s\n", (int)s, perk_last_error());

  if (perk_stats(engine, &counts) == PERK_SUCCESS)
    printf("totals: %llu records, %llu accepted, %llu duplicates, %llu effects\n", (unsigned long long)counts.records,
           (unsigned long long)counts.accepted, (unsigned long long)counts.duplicates,
           (unsigned long long)counts.effects);
  perk_close(engine);

  const char* broken = "program \"Broken\"\nwallet bonus: mony\n";
  perk_engine* other = NULL;
  s = perk_open_source("broken.perk", broken, strlen(broken), NULL, &other);
  const char* message = perk_last_error();
  printf("broken program: status %d: %.*s\n", (int)s, (int)strcspn(message, "\n"), message);
  return failed;
}
