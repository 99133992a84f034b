#!/usr/bin/env python3
"""RSS of `perk serve` under header floods (issue 23, finding 1): starts the server, sends
FLOODS connections of `GET /healthz` with HEADERS small header lines each, and prints the
process's RSS before and after.

    bench/header_flood.py --perk build/perk [--floods 4] [--headers 1000000]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(os.path.dirname(HERE), "examples", "embed", "welcome.perk")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    ap.add_argument("--floods", type=int, default=4)
    ap.add_argument("--headers", type=int, default=1_000_000)
    a = ap.parse_args()
    proc = subprocess.Popen([a.perk, "serve", PROGRAM, "--listen", "127.0.0.1:0", "--insecure-no-auth",
                             "--engine", "interp"], stderr=subprocess.PIPE, text=True)
    port = None
    for line in proc.stderr:
        if "listening on http://" in line:
            port = int(line.split("127.0.0.1:")[1].split()[0])
            break
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    time.sleep(0.3)
    before = rss_mb(proc.pid)
    flood = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"a: b\r\n" * a.headers + b"\r\n"
    answers = []

    def one():
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        try:
            s.sendall(flood)
            answers.append(s.recv(100).split(b"\r\n")[0].decode())
        except OSError as e:
            answers.append(type(e).__name__)
        s.close()

    threads = [threading.Thread(target=one) for _ in range(a.floods)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    after = rss_mb(proc.pid)
    proc.terminate()
    proc.wait(30)
    print(f"{a.perk}: {a.floods} floods of {a.headers} headers: RSS {before:.1f} MB before, {after:.1f} MB after "
          f"(+{after - before:.1f} MB); answers {sorted(set(answers))}")


if __name__ == "__main__":
    sys.exit(main())
