/* libperk: run Perk loyalty programs from C (and anything that calls C: Python's ctypes, Go's
 * cgo, ...). Open a program, feed it records as JSON Lines, get back the ledger entries they
 * produced, read a client's state, close.
 *
 * Errors: every function that can fail returns a perk_status; PERK_SUCCESS is 0. The message of the
 * last failure on the calling thread is perk_last_error(). No C++ exception crosses this API.
 *
 * Threads: a perk_engine may be shared by any number of threads. Calls on one engine are
 * serialised by a mutex inside it (records are processed one batch at a time, in the order the
 * calls take the lock), so open one engine per program and state, and share it. Results and
 * strings returned to you are yours alone and need no locking.
 *
 * Records and effects are the JSON Lines of the Perk language contract (spec §4 and §6). A
 * record whose id was already processed is a duplicate: it changes nothing, and its result
 * carries the effects the original produced, so a caller retrying after a timeout never gets
 * new effects. See docs/embedding.md. */
#ifndef PERK_PERK_H
#define PERK_PERK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PERK_API __attribute__((visibility("default")))
#else
#define PERK_API
#endif

#define PERK_VERSION_MAJOR 0
#define PERK_VERSION_MINOR 1
#define PERK_VERSION_PATCH 0

typedef enum perk_status {
  PERK_SUCCESS = 0,
  PERK_ERR_ARGUMENT = 1, /* a null pointer where one is needed, or a bad option */
  PERK_ERR_IO = 2,       /* the program file cannot be read */
  PERK_ERR_PROGRAM = 3,  /* the program has errors; perk_last_error() holds the diagnostics */
  PERK_ERR_PARAM = 4,    /* a param override does not fit the program */
  PERK_ERR_STATE = 5,    /* durable state refused to open, or a commit failed */
  PERK_ERR_NOT_FOUND = 6,/* no such client */
  PERK_ERR_INTERNAL = 7, /* a bug, or memory ran out; the message says which */
  PERK_ERR_UPGRADE = 8   /* the program changed and would drop data the state holds */
} perk_status;

typedef struct perk_engine perk_engine;
typedef struct perk_result perk_result;

/* Options for perk_open. Initialise with perk_options_init, then set what you need. */
typedef struct perk_options {
  size_t size;                /* sizeof(perk_options): lets later versions add fields */
  const char* engine;         /* "jit" (NULL: the default) or "interp" (the reference interpreter) */
  const char* state_path;     /* durable state file; NULL keeps the state in memory */
  const char* const* params;  /* "NAME=VALUE" overrides of the program's params */
  size_t param_count;
  /* With a state path: names of wallets, vars or client attributes a changed program may drop,
   * and of rules whose limit and budget history it may reset (without them such a program gets
   * PERK_ERR_UPGRADE and the state is left as it was). */
  const char* const* allow_drop;
  size_t allow_drop_count;
} perk_options;

/* What happened to one record of a batch. */
typedef enum perk_record_status {
  PERK_RECORD_ACCEPTED = 0,
  PERK_RECORD_DUPLICATE = 1, /* its id was already processed: nothing changed */
  PERK_RECORD_REJECTED = 2   /* invalid, out of order, or a runtime error: nothing applied */
} perk_record_status;

typedef struct perk_counts {
  uint64_t records;    /* non-blank lines */
  uint64_t accepted;
  uint64_t duplicates;
  uint64_t rejected;
  uint64_t effects;    /* ledger entries */
} perk_counts;

/* "0.1.0" */
PERK_API const char* perk_version(void);

/* The message of the last failed call on this thread ("" if none). Valid until this thread's
 * next call into libperk. */
PERK_API const char* perk_last_error(void);

PERK_API void perk_options_init(perk_options* options);

/* Loads, checks and compiles a program from a file, or from source text (`name` labels its
 * diagnostics). options may be NULL for the defaults. On success *out is an engine to close
 * with perk_close. */
PERK_API perk_status perk_open(const char* program_path, const perk_options* options, perk_engine** out);
PERK_API perk_status perk_open_source(const char* name, const char* source, size_t source_length,
                                      const perk_options* options, perk_engine** out);

/* Commits what is pending and frees the engine. NULL is ignored. */
PERK_API void perk_close(perk_engine* engine);

/* Checks before a record reaches the engine. A record timed more than max_future_seconds ahead
 * of the wall clock is rejected (default 600; negative: no check); one that would move the
 * engine's clock forward by more than max_clock_jump_seconds at once is rejected (default and
 * 0: no check). Client ids longer than 256 bytes are always rejected. A function rather than
 * perk_options fields: callers built against an older perk.h keep their struct's size. */
PERK_API perk_status perk_set_time_limits(perk_engine* engine, int64_t max_future_seconds,
                                          int64_t max_clock_jump_seconds);

/* Processes records given as JSON Lines: one record, or a batch of them, in order. Returns
 * once their effects are durable (with a state path). Rejected records are results, not
 * errors. On success *out is a result to free with perk_result_free. */
PERK_API perk_status perk_process(perk_engine* engine, const char* jsonl, size_t length, perk_result** out);

/* Called once per ledger entry (one JSON object, no newline) in ledger order. Return 0 to go
 * on, non-zero to stop being called (the records are processed all the same). */
typedef int (*perk_effect_fn)(void* user, const char* entry_json, size_t length);

/* perk_process, delivering the effects through a callback instead of a result. The callback
 * runs on the calling thread after the effects are durable and after the engine's lock is
 * released, so it may call back into libperk. counts may be NULL. */
PERK_API perk_status perk_process_each(perk_engine* engine, const char* jsonl, size_t length, perk_effect_fn on_effect,
                                       void* user, perk_counts* counts);

/* The parts of a result. Strings are owned by the result and valid until perk_result_free;
 * *length (when not NULL) receives their length. */
PERK_API void perk_result_counts(const perk_result* result, perk_counts* counts);
/* Every effect of the batch as ledger JSON Lines (for a duplicate, the original's effects). */
PERK_API const char* perk_result_ledger(const perk_result* result, size_t* length);
/* Reject lines {"line":N,"error":"..."}, N counting the batch's lines from 1. */
PERK_API const char* perk_result_rejects(const perk_result* result, size_t* length);
/* The whole result as one JSON object, per record: line, id, status, error, effects (the
 * body `perk serve` answers; see docs/serve.md). */
PERK_API const char* perk_result_json(const perk_result* result, size_t* length);
/* Per record (index < perk_result_record_count, in input order): its status and its effects
 * as ledger JSON Lines. An index out of range reads as PERK_RECORD_REJECTED with no effects. */
PERK_API size_t perk_result_record_count(const perk_result* result);
PERK_API perk_record_status perk_result_record_status(const perk_result* result, size_t index);
PERK_API const char* perk_result_record_effects(const perk_result* result, size_t index, size_t* length);
PERK_API void perk_result_free(perk_result* result);

/* A client's state as a JSON object: wallets, vars, tier, segments, badges, attributes.
 * PERK_ERR_NOT_FOUND when the engine has not seen the client. Free *json with perk_free. */
PERK_API perk_status perk_client_json(perk_engine* engine, const char* client_id, char** json, size_t* length);

/* Totals since the engine (or its state) began. */
PERK_API perk_status perk_stats(perk_engine* engine, perk_counts* counts);

/* Frees a string libperk gave you. NULL is ignored. */
PERK_API void perk_free(void* pointer);

#ifdef __cplusplus
}
#endif

#endif /* PERK_PERK_H */
