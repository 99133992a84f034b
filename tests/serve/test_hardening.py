#!/usr/bin/env python3
"""Issue 23's findings against `perk serve` and `perk run`, reproduced and shown fixed: slow and
flooding HTTP clients, a stop under attack, tokens and TLS, unbounded input, records timed in
the far future. Each test starts the real server (test_serve.Server) on a free loopback port.

    test_hardening.py --perk build/perk [-k NAME]

Figures (latencies, RSS) are printed, not asserted, beyond generous bounds that say "it
answered at all" or "memory did not grow with the attack". Last line: `N passed, N failed`.
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_serve import ADMIN_TOKEN, PROGRAM, TOKEN, Server, deposit, start_fails  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import ssl  # noqa: E402
import tempfile  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Slowloris:
    """`n` connections that each send a request line, then one header byte every `every` s."""

    def __init__(self, port, n, every=0.5):
        self.socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            self.socks.append(s)
        self.closed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.trickle, args=(every,), daemon=True)
        self.thread.start()

    def trickle(self, every):
        k = 0
        while not self.stop.is_set():
            for s in list(self.socks):
                try:
                    s.send(b"a")
                except OSError:
                    self.socks.remove(s)
                    self.closed += 1
            k += 1
            self.stop.wait(every)

    def open_count(self):
        """Connections the server has not closed (a closed one reads EOF or an answer)."""
        alive = 0
        for s in self.socks:
            s.setblocking(False)
            try:
                data = s.recv(65536)
                if data == b"" or data:
                    continue
            except BlockingIOError:
                alive += 1
            except OSError:
                continue
        return alive

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


def healthz_latency(port, timeout=2.0):
    """Seconds a fresh connection takes to get /healthz answered; None if not within `timeout`."""
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        return None
    if not data.startswith(b"HTTP/1.1 200"):
        return None
    return time.monotonic() - start


def raw_request(port, head, timeout=10):
    """Sends `head` bytes and returns the answer's status line ('' when the server just closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(head)
        except OSError:
            pass  # the server may answer and close before it has read everything
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    except (ConnectionResetError, BrokenPipeError):
        return ""
    finally:
        s.close()


# ---- finding 1: the HTTP layer ----

def test_healthz_answers_while_200_slow_sockets_trickle(perk):
    s = Server(perk, "interp", args=["--header-timeout", "60", "--request-timeout", "60"])
    try:
        loris = Slowloris(s.port, 200)
        time.sleep(1.0)
        latencies = [healthz_latency(s.port) for _ in range(20)]
        still_open = loris.open_count()
        loris.close()
        assert all(t is not None for t in latencies), latencies
        print(f"      /healthz with 200 slow sockets open ({still_open} still open): median "
              f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms over 20")
        assert still_open == 200, still_open
    finally:
        s.stop()


def test_slow_headers_are_cut_at_the_header_deadline(perk):
    s = Server(perk, "interp", args=["--header-timeout", "1"])
    try:
        loris = Slowloris(s.port, 20, every=0.2)
        deadline = time.monotonic() + 10  # generous: the deadline is 1 s
        while loris.open_count() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = loris.open_count()
        loris.close()
        assert left == 0, f"{left} slow connections still open 10 s after a 1 s header deadline"
        status = raw_request(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert status.startswith("HTTP/1.1 408"), status
    finally:
        s.stop()


def test_header_floods_are_refused_and_rss_stays_bounded(perk):
    s = Server(perk, "interp")
    try:
        healthz_latency(s.port)
        before = rss_kb(s.proc.pid)
        flood = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"a: b\r\n" * 1_000_000 + b"\r\n"
        statuses = [None] * 4

        def one(k):
            statuses[k] = raw_request(s.port, flood, timeout=30)

        threads = [threading.Thread(target=one, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        after = rss_kb(s.proc.pid)
        print(f"      RSS before 4 floods of 1M headers: {before / 1024:.1f} MB, after: {after / 1024:.1f} MB")
        assert all(st == "" or "431" in st for st in statuses), statuses
        assert any("431" in st for st in statuses), statuses
        assert after - before < 64 * 1024, (before, after)
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * (80 << 10) + b"\r\n\r\n"
        assert "431" in raw_request(s.port, big), "a 80 KB header was not refused"
        assert healthz_latency(s.port) is not None
    finally:
        s.stop()


def test_header_count_cap(perk):
    s = Server(perk, "interp", args=["--max-headers", "20"])
    try:
        ok = b"GET /healthz HTTP/1.1\r\n" + b"a: b\r\n" * 20 + b"\r\n"
        assert raw_request(s.port, ok).startswith("HTTP/1.1 200")
        many = b"GET /healthz HTTP/1.1\r\n" + b"a: b\r\n" * 21 + b"\r\n"
        assert raw_request(s.port, many).startswith("HTTP/1.1 431")
    finally:
        s.stop()


def test_connection_limit(perk):
    s = Server(perk, "interp", args=["--max-connections", "8", "--threads", "2", "--header-timeout", "60"])
    try:
        loris = Slowloris(s.port, 8)
        time.sleep(0.5)
        status = raw_request(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status.startswith("HTTP/1.1 503"), status
        loris.close()
        deadline = time.monotonic() + 10
        while healthz_latency(s.port) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert healthz_latency(s.port) is not None, "the server did not recover after the slow sockets left"
    finally:
        s.stop()


def test_sigterm_under_slowloris_drains_within_the_bound(perk):
    s = Server(perk, "interp", args=["--header-timeout", "60", "--request-timeout", "60", "--drain", "2"])
    try:
        s.post(deposit("d1", "c1", "10"))
        loris = Slowloris(s.port, 100)
        time.sleep(0.5)
        start = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        try:
            rc = s.proc.wait(20)  # generous: the drain bound is 2 s
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - start
        loris.close()
        print(f"      SIGTERM with 100 slow sockets: exited {rc} after {took:.2f} s (--drain 2)")
        assert rc == 0, (rc, "".join(s.stderr))
    finally:
        s.stop()


# ---- finding 4: tokens and TLS ----

def token_file(text, mode=0o600):
    d = tempfile.mkdtemp(prefix="perk-token-")
    path = os.path.join(d, "token")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, mode), "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def serve_fails(perk, args, env=None):
    """Runs `perk serve` expecting it not to start: (exit code, stderr)."""
    env = dict(env if env is not None else os.environ)
    p = subprocess.run([perk, "serve", PROGRAM, "--engine", "interp", *args], capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stderr


def test_token_rules(perk):
    rc, err = start_fails(perk, "interp", ["--token-file", token_file("short-token\n")])
    assert rc == 2 and "at least 16" in err, (rc, err)
    rc, err = serve_fails(perk, ["--listen", "127.0.0.1:0"], env=dict(os.environ, PERK_TOKEN="tiny"))
    assert rc == 2 and "at least 16" in err, (rc, err)
    rc, err = start_fails(perk, "interp", ["--token-file", token_file(TOKEN + "\n", 0o644)])
    assert rc == 2 and "chmod 600" in err, (rc, err)
    rc, err = start_fails(perk, "interp", ["--token-file", token_file(TOKEN + "\n", 0o640)])
    assert rc == 2 and "chmod 600" in err, (rc, err)
    # The token is the first line; a second line is refused rather than silently ignored or kept.
    rc, err = start_fails(perk, "interp", ["--token-file", token_file(TOKEN + "\nsecond line\n")])
    assert rc == 2 and "more than one line" in err, (rc, err)
    rc, err = start_fails(perk, "interp", ["--token-file", token_file(TOKEN + "\n"),
                                           "--admin-token-file", token_file(TOKEN + "\n")])
    assert rc == 2 and "differ" in err, (rc, err)
    # The first line, trimmed (a CRLF line end and spaces around it do not count).
    s = Server(perk, "interp", args=["--token-file", token_file("  " + TOKEN + " \r\n\n")], token=None)
    try:
        status, _ = s.post(deposit("d1", "c1", "10"), token=TOKEN)
        assert status == 200, status
    finally:
        s.stop()


def test_insecure_no_auth_only_on_loopback(perk):
    rc, err = serve_fails(perk, ["--insecure-no-auth", "--listen", "0.0.0.0:0"])
    assert rc == 2 and "loopback" in err, (rc, err)
    for host in ("127.0.0.1", "[::1]", "localhost"):
        p = subprocess.Popen([perk, "serve", PROGRAM, "--insecure-no-auth", "--listen", f"{host}:0", "--engine",
                              "interp"], stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()
        p.terminate()
        p.wait(30)
        assert "listening on" in line or "cannot listen" in line, (host, line)


def test_admin_token_is_separate(perk):
    v1 = open(PROGRAM).read()
    s = Server(perk, "interp")
    try:
        status, _, data = s.request("POST", "/v1/program", v1.encode(), "text/plain", token=TOKEN)
        assert status == 401, (status, data)
        status, _, data = s.request("POST", "/v1/program", v1.encode(), "text/plain", token=ADMIN_TOKEN)
        assert status == 200, (status, data)
        # The admin token is for the program only.
        status, _ = s.post(deposit("d1", "c1", "10"), token=ADMIN_TOKEN)
        assert status == 401, status
        status, _ = s.post(deposit("d1", "c1", "10"), token=TOKEN)
        assert status == 200, status
    finally:
        s.stop()
    s = Server(perk, "interp", admin_token=None)
    try:
        assert any("reloads disabled" in line for line in s.stderr), s.stderr
        status, _, data = s.request("POST", "/v1/program", v1.encode(), "text/plain", token=TOKEN)
        assert status == 403 and json.loads(data)["error"]["code"] == "reload_disabled", (status, data)
    finally:
        s.stop()


def test_tls(perk):
    if not shutil.which("openssl") or not shutil.which("curl"):
        raise AssertionError("openssl and curl are needed (scripts/setup)")
    d = tempfile.mkdtemp(prefix="perk-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=cert)
    s = Server(perk, "interp", args=["--tls-cert", cert, "--tls-key", key], tls=ctx)
    try:
        assert any("https://" in line for line in s.stderr), s.stderr
        out = subprocess.run(["curl", "-sS", "--cacert", cert, f"https://127.0.0.1:{s.port}/healthz"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and json.loads(out.stdout) == {"status": "ok"}, (out.returncode, out.stderr)
        out = subprocess.run(["curl", "-sS", "--cacert", cert, "-H", f"Authorization: Bearer {TOKEN}", "-H",
                              "Content-Type: application/json", "--data-binary", deposit("t1", "c1", "10"),
                              f"https://127.0.0.1:{s.port}/v1/events"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and json.loads(out.stdout)["accepted"] == 1, (out.stdout, out.stderr)
        # Keep-alive over TLS: two requests on one connection.
        c = s.conn()
        for _ in range(2):
            status, _ = s.post(deposit("t1", "c1", "10"), conn=c)
            assert status == 200, status
        c.close()
        # Plain HTTP to the TLS port gets nothing a client could take for an answer.
        status = raw_request(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not status.startswith("HTTP/1.1 200"), status
    finally:
        s.stop()
    rc, err = start_fails(perk, "interp", ["--insecure-no-auth", "--tls-cert", cert])
    assert rc == 2 and "go together" in err, (rc, err)
    rc, err = start_fails(perk, "interp", ["--insecure-no-auth", "--tls-cert", key, "--tls-key", key])
    assert rc == 2 and "certificate" in err, (rc, err)


# ---- finding 7: bounded input ----

def run_perk(perk, *args, stdin=None):
    return subprocess.run([perk, *args], capture_output=True, text=True, timeout=60, input=stdin)


def test_dev_zero_as_program_and_events_exit_2(perk):
    p = run_perk(perk, "run", "/dev/zero", "--events", "/dev/null")
    assert p.returncode == 2 and "larger than 1048576 bytes" in p.stderr, (p.returncode, p.stderr)
    p = run_perk(perk, "run", PROGRAM, "--events", "/dev/zero")
    assert p.returncode == 2 and "NUL byte" in p.stderr, (p.returncode, p.stderr)
    p = run_perk(perk, "check", "/dev/zero")
    assert p.returncode == 2 and "larger than" in p.stderr, (p.returncode, p.stderr)
    p = run_perk(perk, "serve", "/dev/zero", "--insecure-no-auth", "--listen", "127.0.0.1:0")
    assert p.returncode == 2 and "larger than" in p.stderr, (p.returncode, p.stderr)


def test_long_event_lines_are_rejected_unread_and_the_run_goes_on(perk):
    d = tempfile.mkdtemp(prefix="perk-lines-")
    events = os.path.join(d, "events.jsonl")
    with open(events, "w") as f:
        f.write(deposit("d1", "c1", "10", first=True) + "\n")
        f.write('{"type":"deposit","note":"' + "x" * (3 << 20) + '"}\n')  # 3 MiB, past the default cap
        f.write(deposit("d2", "c1", "20") + "\n")
        f.write('{"pad":"' + "y" * 200 + '"}\r\n')                       # past --max-line-bytes 128 below
        f.write(deposit("d3", "c1", "30") + "\n")
    p = run_perk(perk, "run", PROGRAM, "--events", events)
    assert p.returncode == 0, p.stderr
    rejects = [json.loads(line) for line in p.stderr.splitlines() if line.startswith("{")]
    assert rejects[0]["line"] == 2 and "skipped unread" in rejects[0]["error"], rejects
    assert {json.loads(line)["client"] for line in p.stdout.splitlines()} == {"c1"}
    ids = {json.loads(line).get("trigger") for line in p.stdout.splitlines()}
    assert {"d1", "d2", "d3"} <= ids, ids
    p = run_perk(perk, "run", PROGRAM, "--events", events, "--max-line-bytes", "128", "--ledger", "/dev/null")
    rejects = [json.loads(line) for line in p.stderr.splitlines() if line.startswith("{")]
    assert [r["line"] for r in rejects] == [2, 4], rejects
    # Durable: the same rejects go to the rejects file, and a second run continues after them.
    state = os.path.join(d, "s.db")
    args = ["run", PROGRAM, "--events", events, "--state", state, "--ledger", state + ".l", "--rejects", state + ".r"]
    p = run_perk(perk, *args)
    assert p.returncode == 0, p.stderr
    with open(state + ".r") as f:
        rejects = [json.loads(line) for line in f]
    assert [r["line"] for r in rejects] == [2, 4] and "skipped unread" in rejects[0]["error"], rejects
    p = run_perk(perk, *args)
    assert p.returncode == 0 and "0 records" in p.stderr, p.stderr


def test_client_id_cap(perk):
    s = Server(perk, "interp")
    try:
        status, body = s.post(deposit("d1", "c" * 300, "10"))
        assert status == 400 and "at most 256 bytes" in body["error"]["message"], (status, body)
        status, body = s.post(deposit("d2", "c" * 256, "10"))
        assert status == 200, (status, body)
    finally:
        s.stop()


# ---- finding 2: time sanity at the boundary ----

def test_the_2062_record_is_rejected_and_later_records_accepted(perk):
    s = Server(perk, "interp", state=True)
    try:
        status, _ = s.post(deposit("d1", "c1", "10", time_="2026-01-05T10:00:00Z", first=True))
        assert status == 200
        status, body = s.post(deposit("d2", "c1", "10", time_="2062-03-01T10:00:00Z"))
        assert status == 400 and "ahead of the wall clock" in body["error"]["message"], (status, body)
        status, body = s.post(deposit("d3", "c1", "10", time_="2026-01-06T10:00:00Z"))
        assert status == 200 and body["accepted"] == 1, (status, body)
        with open(s.state + ".rejects.jsonl") as f:
            assert "ahead of the wall clock" in f.read()
    finally:
        s.stop()
    s = Server(perk, "interp", args=["--max-clock-jump", "30d"])
    try:
        s.post(deposit("d1", "c1", "10", time_="2026-01-05T10:00:00Z", first=True))
        status, body = s.post(deposit("d2", "c1", "10", time_="2026-03-01T10:00:00Z"))
        assert status == 400 and "--max-clock-jump" in body["error"]["message"], (status, body)
        status, body = s.post(deposit("d3", "c1", "10", time_="2026-01-20T10:00:00Z"))
        assert status == 200, (status, body)
    finally:
        s.stop()
    rc, err = serve_fails(perk, ["--insecure-no-auth", "--listen", "127.0.0.1:0", "--max-future", "ten"])
    assert rc == 2 and "duration" in err, (rc, err)


def test_run_max_clock_jump(perk):
    d = tempfile.mkdtemp(prefix="perk-jump-")
    events = os.path.join(d, "events.jsonl")
    with open(events, "w") as f:
        f.write(deposit("d1", "c1", "10", time_="2026-01-05T10:00:00Z", first=True) + "\n")
        f.write(deposit("d2", "c1", "10", time_="2062-03-01T10:00:00Z") + "\n")
        for k in range(3, 200):  # batches of lines, each within the cap of the one before
            f.write(deposit(f"d{k}", "c1", "1", time_=f"2026-01-{5 + k // 10:02d}T10:00:00Z") + "\n")
    p = run_perk(perk, "run", PROGRAM, "--events", events, "--max-clock-jump", "36h", "--ledger", "/dev/null")
    rejects = [json.loads(line) for line in p.stderr.splitlines() if line.startswith("{")]
    assert p.returncode == 0 and [r["line"] for r in rejects] == [2], rejects
    assert "--max-clock-jump" in rejects[0]["error"], rejects
    # Without the flag the mistyped year is accepted and every later record is out of order.
    p = run_perk(perk, "run", PROGRAM, "--events", events, "--ledger", "/dev/null")
    rejects = [json.loads(line) for line in p.stderr.splitlines() if line.startswith("{")]
    assert len(rejects) == 197, len(rejects)


# ---- finding 6: the ledger is locked and checksummed ----

def test_two_servers_on_one_ledger_the_second_is_refused(perk):
    d = tempfile.mkdtemp(prefix="perk-ledger-lock-")
    ledger = os.path.join(d, "shared.ledger.jsonl")
    a = Server(perk, "interp", state=True, scratch=d, args=["--ledger", ledger])
    try:
        status, body = a.post(deposit("d1", "c1", "10", time_="2026-01-05T10:00:00Z", first=True))
        assert status == 200 and body["accepted"] == 1, (status, body)
        with open(ledger, "rb") as f:
            before = f.read()
        assert before, "the first server committed nothing"
        other = os.path.join(d, "other.db")
        rc, err = start_fails(perk, "interp", ["--insecure-no-auth", "--state", other, "--ledger", ledger])
        assert rc == 2 and "is in use by another perk process" in err and ledger in err, (rc, err)
        with open(ledger, "rb") as f:
            assert f.read() == before, "the refused server wrote the ledger"
        assert not os.path.exists(other), "the refused server created its state"
        # The first one goes on serving.
        status, body = a.post(deposit("d2", "c1", "10", time_="2026-01-05T11:00:00Z"))
        assert status == 200 and body["accepted"] == 1, (status, body)
    finally:
        a.stop()
        shutil.rmtree(d, ignore_errors=True)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    args = ap.parse_args()
    perk = os.path.abspath(args.perk)
    passed = failed = 0
    for test in TESTS:
        if args.k not in test.__name__:
            continue
        started = time.monotonic()
        try:
            test(perk)
            passed += 1
            print(f"ok    {test.__name__}  [{time.monotonic() - started:.1f}s]")
        except Exception:  # noqa: BLE001 - every failure is reported, then the next test runs
            failed += 1
            print(f"FAIL  {test.__name__}")
            print("      " + traceback.format_exc().rstrip().replace("\n", "\n      "))
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
