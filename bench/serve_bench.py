#!/usr/bin/env python3
"""Latency and throughput of `perk serve` over loopback HTTP (standard library only).

    python3 bench/serve_bench.py --perk build/perk [--state] [--engine jit]
        [--single 5000] [--connections 8] [--batch 1000] [--batches 50]

1. Single-event POSTs, one at a time on one keep-alive connection: p50, p90, p99, max latency
   as the client sees it (request written to response read), each event a new deposit.
2. Single-event POSTs from --connections connections at once: requests/s (with state, this is
   what group commit buys) and their latency.
3. Batched POSTs (JSON Lines, --batch records each) over --connections concurrent keep-alive
   connections: records/s accepted, wall clock from the first request to the last answer.

With --state the server keeps durable state in a scratch directory, so every answer waits for
its commit (an fdatasync of the ledger and an SQLite WAL commit). Prints the figures, and the
disk's own fdatasync latency for scale; asserts nothing about speed.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "examples", "embed", "welcome.perk")
TOKEN = "bench-token-0123456789abcdef"


def start(perk, program, engine, state_dir):
    token_file = os.path.join(state_dir, "token")
    with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(TOKEN)
    cmd = [perk, "serve", program, "--listen", "127.0.0.1:0", "--engine", engine, "--token-file", token_file,
           "--max-body", str(64 << 20)]
    if args.state:
        cmd += ["--state", os.path.join(state_dir, "state.db")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, int(m.group(1))
    raise SystemExit(f"the server did not start: exit {proc.wait()}")


def post(conn, body, content_type):
    conn.request("POST", "/v1/events", body=body,
                 headers={"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit(f"POST failed: {r.status} {data[:300]!r}")
    return data


def percentile(sorted_values, p):
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("--program", default=PROGRAM)
    ap.add_argument("--engine", default="jit")
    ap.add_argument("--state", action="store_true", help="durable state (--state) in a scratch directory")
    ap.add_argument("--state-dir", default=None,
                    help="where the scratch directory goes (default: the system's temp dir; /dev/shm shows the "
                         "cost without the disk's sync)")
    ap.add_argument("--single", type=int, default=5000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--batches", type=int, default=50, help="batches per connection")
    args = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="perk-serve-bench-", dir=args.state_dir)
    if args.state:
        probe = os.path.join(scratch, "fsync-probe")
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        syncs = []
        for _ in range(200):
            os.write(fd, b"x" * 200)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            syncs.append(time.perf_counter() - t0)
        os.close(fd)
        os.unlink(probe)
        syncs.sort()
        print(f"fdatasync on {scratch}: p50 {syncs[100] * 1000:.3f} ms, p99 {syncs[198] * 1000:.3f} ms")
    proc, port = start(os.path.abspath(args.perk), args.program, args.engine, scratch)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        # Warm-up: the connection, the server's first allocations.
        for k in range(200):
            post(conn, json.dumps({"type": "deposit", "id": f"warm{k}", "client": f"w{k % 50}",
                                   "time": "2026-01-01T00:00:00Z", "amount": "10"}), "application/json")
        base = 1_767_225_600  # 2026-01-01T00:00:00Z
        lat = []
        for k in range(args.single):
            t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 3600 + k))
            body = json.dumps({"type": "deposit", "id": f"s{k}", "client": f"c{k % 1000}", "time": t,
                               "amount": "150.00", "first": k < 1000})
            t0 = time.perf_counter()
            post(conn, body, "application/json")
            lat.append(time.perf_counter() - t0)
        conn.close()
        lat.sort()
        ms = lambda v: f"{v * 1000:.3f} ms"  # noqa: E731
        mode = f"durable state in {os.path.dirname(scratch)}" if args.state else "state in memory"
        print(f"single-event POSTs ({args.single}, one connection, engine {args.engine}, {mode}): "
              f"p50 {ms(percentile(lat, 50))}, p90 {ms(percentile(lat, 90))}, p99 {ms(percentile(lat, 99))}, "
              f"max {ms(lat[-1])}, mean {ms(statistics.mean(lat))}")

        # Single events from every connection at once: with state, requests that arrive while a
        # commit is being written share the next one (group commit).
        t1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 43200))
        per_conn = max(1, args.single // args.connections // 2)
        conc_lat = []
        lat_lock = threading.Lock()

        def single_worker(w):
            c = http.client.HTTPConnection("127.0.0.1", port)
            mine = []
            for k in range(per_conn):
                body = f'{{"type":"deposit","id":"x{w}-{k}","client":"x{w}-{k % 100}","time":"{t1}","amount":"150.00"}}'
                t0 = time.perf_counter()
                post(c, body, "application/json")
                mine.append(time.perf_counter() - t0)
            c.close()
            with lat_lock:
                conc_lat.extend(mine)

        threads = [threading.Thread(target=single_worker, args=(w,)) for w in range(args.connections)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        conc_lat.sort()
        print(f"single-event POSTs from {args.connections} connections at once ({len(conc_lat)}, {mode}): "
              f"{len(conc_lat) / wall:,.0f} requests/s, p50 {ms(percentile(conc_lat, 50))}, "
              f"p99 {ms(percentile(conc_lat, 99))}")

        # Every batched record at one time, later than all above: concurrent connections cannot
        # then deliver a record out of order.
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 86400))
        bodies = []
        for w in range(args.connections):
            per = []
            for b in range(args.batches):
                lines = [f'{{"type":"deposit","id":"b{w}-{b}-{k}","client":"b{w}-{k % 500}","time":"{t}",'
                         f'"amount":"120.50"}}' for k in range(args.batch)]
                per.append(("\n".join(lines) + "\n").encode())
            bodies.append(per)
        accepted = [0] * args.connections

        def worker(w):
            c = http.client.HTTPConnection("127.0.0.1", port)
            for body in bodies[w]:
                data = post(c, body, "application/x-ndjson")
                accepted[w] += json.loads(data[:100].split(b',"records"')[0] + b"}")["accepted"]
            c.close()

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.connections)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        total = args.connections * args.batches * args.batch
        print(f"batched POSTs ({args.connections} connections x {args.batches} batches x {args.batch} records, "
              f"{mode}): {sum(accepted)}/{total} accepted in {wall:.2f} s = {sum(accepted) / wall:,.0f} records/s")
        if sum(accepted) != total:
            print("warning: not every record was accepted", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
