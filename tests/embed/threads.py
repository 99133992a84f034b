#!/usr/bin/env python3
"""libperk from Python threads: ctypes releases the GIL in every call, so these threads really
share the engine at once. Each writer posts its client's events twice (the retry must return
the original effects); the totals and balances must be those of a serial run.

    threads.py PROGRAM.perk jit|interp --lib libperk.so   (examples/embed/welcome.perk)
"""
import argparse
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "embed"))
import embed  # noqa: E402  (the ctypes binding of the example)

WRITERS, EVENTS = 4, 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    ap.add_argument("engine")
    ap.add_argument("--lib", required=True)
    args = ap.parse_args()
    lib = embed.load(args.lib)
    perk = embed.Perk(lib, program=args.program, engine=args.engine)
    failures = []

    def writer(w):
        for k in range(EVENTS):
            record = (f'{{"type":"deposit","id":"p{w}-{k}","client":"p{w}","time":"2026-01-05T10:00:00Z",'
                      f'"amount":"{100 + k}.00","first":{"true" if k == 0 else "false"}}}')
            first, retry = perk.process(record), perk.process(record)
            if first.records[0][0] != "accepted" or retry.records[0][0] != "duplicate":
                failures.append(f"{record}: {first.records[0][0]}, then {retry.records[0][0]}")
            if first.ledger != retry.ledger or not first.ledger:
                failures.append(f"{record}: the retry's effects differ from the original's")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = perk.stats()
    if (c.accepted, c.duplicates) != (WRITERS * EVENTS, WRITERS * EVENTS):
        failures.append(f"totals: accepted {c.accepted}, duplicates {c.duplicates}")
    points = sum((100 + k) // 10 for k in range(EVENTS))
    for w in range(WRITERS):
        wallets = embed.json.loads(perk.client(f"p{w}"))["wallets"]
        if wallets != {"bonus": "30.00", "points": points}:
            failures.append(f"client p{w}: wallets {wallets}")
    perk.close()
    for f in failures[:10]:
        print("FAIL:", f)
    print(f"python threads: {WRITERS} writers x {EVENTS} events (each retried): {'FAILED' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
