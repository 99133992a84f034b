#!/usr/bin/env python3
"""libperk with a state path: effects are durable when perk_process returns, a reopened engine
continues the state, and a retry after the reopen gets the original effects back.

    durable.py PROGRAM.perk jit|interp --lib libperk.so   (examples/embed/welcome.perk)
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "embed"))
import embed  # noqa: E402

D1 = '{"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.00","first":true}'
D2 = '{"type":"deposit","id":"d2","client":"c1","time":"2026-01-06T10:00:00Z","amount":"40"}'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    ap.add_argument("engine")
    ap.add_argument("--lib", required=True)
    args = ap.parse_args()
    lib = embed.load(args.lib)
    scratch = tempfile.mkdtemp(prefix="perk-embed-state-")
    failures = []
    try:
        state = os.path.join(scratch, "state.db")
        perk = embed.Perk(lib, program=args.program, engine=args.engine, state_path=state)
        first = perk.process(D1)
        # Durable on return: the ledger file beside the state already holds the effects.
        on_disk = open(state + ".ledger.jsonl").read()
        if not first.ledger or on_disk != first.ledger:
            failures.append(f"the ledger file holds {on_disk!r}, the result {first.ledger!r}")
        try:
            embed.Perk(lib, program=args.program, engine=args.engine, state_path=state)
            failures.append("a second engine opened a state in use")
        except embed.PerkError as e:
            if e.status != 5:
                failures.append(f"a second engine on the state: status {e.status}, want 5 (state)")
        perk.close()

        perk = embed.Perk(lib, program=args.program, engine=args.engine, state_path=state)
        again = perk.process(D1)
        if again.records[0][0] != "duplicate" or again.ledger != first.ledger:
            failures.append(f"retry after reopen: {again.records}")
        second = perk.process(D2)
        if json.loads(second.ledger.splitlines()[0])["seq"] != len(first.ledger.splitlines()) + 1:
            failures.append(f"seq does not continue: {second.ledger}")
        wallets = json.loads(perk.client("c1"))["wallets"]
        if wallets != {"bonus": "75.00", "points": 29}:
            failures.append(f"wallets after reopen: {wallets}")
        perk.close()
        # A changed program that would drop a wallet (and the welcome rule's once-per-client
        # history): PERK_ERR_UPGRADE, nothing changed.
        try:
            embed.Perk(lib, source='program "Welcome"\ncurrency USD\nevent deposit { amount: money }\n',
                       name="smaller.perk", engine=args.engine, state_path=state)
            failures.append("a program dropping wallets opened the state")
        except embed.PerkError as e:
            if e.status != 8 or "bonus" not in str(e):
                failures.append(f"dropping wallets: status {e.status}: {e}")
        perk = embed.Perk(lib, source='program "Welcome"\ncurrency USD\nevent deposit { amount: money }\n'
                          'wallet bonus: money\n', name="smaller.perk", engine=args.engine, state_path=state,
                          allow_drop=["points", "welcome"])
        wallets = json.loads(perk.client("c1"))["wallets"]
        if wallets != {"bonus": "75.00"}:
            failures.append(f"after dropping points: {wallets}")
        perk.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print(f"durable state through libperk: {'FAILED' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
