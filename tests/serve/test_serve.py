#!/usr/bin/env python3
"""Integration tests of `perk serve`: each starts the real server on a free loopback port and
drives it over real HTTP (http.client, standard library only).

    test_serve.py --perk build/perk [--engine jit,interp] [-k NAME]

Last line: `N passed, N failed`. No timing assertions: speed is bench/serve_bench.py's job.
"""
import argparse
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(ROOT, "examples", "embed", "welcome.perk")
TOKEN = "s3cret-token-for-events"
ADMIN_TOKEN = "s3cret-token-for-the-admin"


class Server:
    """A `perk serve` process on 127.0.0.1 with a port the kernel picked."""

    def __init__(self, perk, engine, program=PROGRAM, token=TOKEN, via="file", args=(), env=None, scratch=None,
                 state=False, admin_token=ADMIN_TOKEN, tls=None):
        self.token = token
        self.admin_token = admin_token if token is not None else None
        self.tls = tls  # an ssl.SSLContext for HTTPS
        self.scratch = scratch or tempfile.mkdtemp(prefix="perk-serve-")
        self.state = os.path.join(self.scratch, "state.db")
        cmd = [perk, "serve", program, "--listen", "127.0.0.1:0", "--engine", engine, *args]
        if state:
            cmd += ["--state", self.state]
        env = dict(env if env is not None else os.environ)
        env.pop("PERK_TOKEN", None)
        env.pop("PERK_ADMIN_TOKEN", None)
        for value, flag, var in ((token, "--token-file", "PERK_TOKEN"),
                                 (self.admin_token, "--admin-token-file", "PERK_ADMIN_TOKEN")):
            if value is not None and via == "file":
                path = os.path.join(self.scratch, var.lower())
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                    f.write(value + "\n")
                cmd += [flag, path]
            elif value is not None and via == "env":
                env[var] = value
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        self.stderr = []
        self.port = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.stderr.append(line)
                m = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        ready.wait(60)
        if self.port is None:
            self.proc.wait(10)
            raise AssertionError(f"server did not start (exit {self.proc.returncode}): {''.join(self.stderr)}")

    def conn(self):
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, content_type="application/json", token="default", conn=None,
                headers=None, chunked=False):
        c = conn or self.conn()
        h = dict(headers or {})
        if content_type is not None and body is not None:
            h["Content-Type"] = content_type
        # POST /v1/program takes the admin token; everything else the token for events.
        default = self.admin_token if path.startswith("/v1/program") else self.token
        tok = default if token == "default" else token
        if tok is not None:
            h["Authorization"] = f"Bearer {tok}"
        if chunked:  # Transfer-Encoding: chunked, in pieces of 1000 bytes
            c.request(method, path, body=iter([body[k:k + 1000] for k in range(0, len(body), 1000)]), headers=h,
                      encode_chunked=True)
        else:
            c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, dict(r.getheaders()), data

    def post(self, body, content_type=None, **kw):
        if content_type is None:
            content_type = "application/x-ndjson" if "\n" in body.strip() else "application/json"
        status, headers, data = self.request("POST", "/v1/events", body.encode(), content_type, **kw)
        return status, json.loads(data) if data else None

    def get_json(self, path, **kw):
        status, _, data = self.request("GET", path, **kw)
        return status, json.loads(data) if data else None

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200, status
        values = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.drainer.join(5)
        return self.proc.returncode


def deposit(id_, client, amount, time_="2026-01-05T10:00:00Z", first=False):
    return json.dumps({"type": "deposit", "id": id_, "client": client, "time": time_, "amount": amount,
                       "first": first}, separators=(",", ":"))


def start_fails(perk, engine, args, env=None):
    env = dict(env if env is not None else os.environ)
    env.pop("PERK_TOKEN", None)
    p = subprocess.run([perk, "serve", PROGRAM, "--listen", "127.0.0.1:0", "--engine", engine, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    return p.returncode, p.stderr


# ---- tests: each takes (perk, engine) and raises AssertionError on failure ----

def test_refuses_to_start_without_a_token(perk, engine):
    rc, err = start_fails(perk, engine, [])
    assert rc == 2 and "--token-file" in err and "PERK_TOKEN" in err, (rc, err)
    empty = tempfile.NamedTemporaryFile("w", delete=False)
    empty.close()
    rc, err = start_fails(perk, engine, ["--token-file", empty.name])
    assert rc == 2 and "empty" in err, (rc, err)
    rc, err = start_fails(perk, engine, ["--token-file", "/nonexistent/token"])
    assert rc == 2 and "cannot read" in err, (rc, err)
    # There is no way to pass the token itself on the command line.
    rc, err = start_fails(perk, engine, ["--token", TOKEN])
    assert rc == 2, (rc, err)


def test_insecure_no_auth_serves_without_a_token(perk, engine):
    s = Server(perk, engine, token=None, args=["--insecure-no-auth"])
    try:
        assert any("NO AUTHENTICATION" in line for line in s.stderr), s.stderr
        status, body = s.post(deposit("d1", "c1", "250.00", first=True), token=None)
        assert status == 200 and body["accepted"] == 1, (status, body)
    finally:
        s.stop()


def test_auth(perk, engine):
    # The scheme is case-insensitive.
    s = Server(perk, engine)
    try:
        for scheme in ("bearer", "BEARER"):
            status, _, _ = s.request("GET", "/metrics", token=None, headers={"Authorization": f"{scheme} {s.token}"})
            assert status == 200, (scheme, status)
    finally:
        s.stop()

    for via in ("file", "env"):
        s = Server(perk, engine, via=via)
        try:
            status, _, data = s.request("GET", "/healthz", token=None)
            assert status == 200 and json.loads(data) == {"status": "ok"}, (status, data)
            for method, path, body in (("POST", "/v1/events", deposit("d1", "c1", "10")),
                                       ("GET", "/v1/clients/c1", None), ("GET", "/metrics", None),
                                       ("POST", "/v1/program", "program \"x\"")):
                for token in (None, "wrong", TOKEN + "x", ""):
                    status, headers, data = s.request(method, path, body and body.encode(), token=token)
                    assert status == 401, (via, method, path, token, status, data)
                    assert headers.get("WWW-Authenticate", "").startswith("Bearer"), headers
                    assert json.loads(data)["error"]["code"] == "unauthorized", data
            # Nothing was processed by the refused requests.
            assert s.metrics()["perk_records_total"] == 0
            status, body = s.post(deposit("d1", "c1", "10"))
            assert status == 200 and body["accepted"] == 1, (status, body)
            # A wrong scheme is refused as well.
            status, _, _ = s.request("GET", "/metrics", token=None, headers={"Authorization": f"Basic {TOKEN}"})
            assert status == 401, status
        finally:
            s.stop()


def test_one_event_and_a_client(perk, engine):
    s = Server(perk, engine)
    try:
        status, body = s.post(deposit("d1", "c1", "250.00", first=True))
        assert status == 200, (status, body)
        assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 0), body
        [rec] = body["records"]
        assert rec["line"] == 1 and rec["id"] == "d1" and rec["status"] == "accepted", rec
        actions = [(e["seq"], e["action"], e.get("wallet"), e.get("amount")) for e in rec["effects"]]
        assert actions == [(1, "credit", "bonus", "75.00"), (2, "notify", None, None), (3, "credit", "points", 25)], actions
        status, client = s.get_json("/v1/clients/c1")
        assert status == 200 and client["wallets"] == {"bonus": "75.00", "points": 25}, (status, client)
        status, err = s.get_json("/v1/clients/nobody")
        assert status == 404 and err["error"]["code"] == "unknown_client", (status, err)
        # Ids are taken from the path, URL-decoded.
        status, body = s.post(deposit("d2", "c 2/x", "20"))
        assert status == 200 and body["accepted"] == 1, body
        status, client = s.get_json("/v1/clients/c%202%2Fx")
        assert status == 200 and client["id"] == "c 2/x", (status, client)
        # A record laid out over several lines is one record under application/json.
        pretty = json.dumps(json.loads(deposit("d3", "c1", "30")), indent=2)
        status, body = s.post(pretty, content_type="application/json; charset=utf-8")
        assert status == 200 and body["accepted"] == 1, (status, body)
    finally:
        s.stop()


def test_client_shows_pending_credits_and_lots(perk, engine):
    """C11: GET /v1/clients/{id} shows pending amounts, each pending credit with its release date
    and the seq of its credit entry, and lots with their expiry dates."""
    program = os.path.join(ROOT, "tests", "conformance", "011-expiry-pending", "program.perk")
    s = Server(perk, engine, program=program)
    try:
        records = [{"type": "trade", "id": "t1", "client": "c1", "time": "2026-01-05T10:00:00Z", "lots": 10},
                   {"type": "deposit", "id": "d1", "client": "c1", "time": "2026-01-10T11:00:00Z", "amount": "200"}]
        status, body = s.post("\n".join(json.dumps(r) for r in records) + "\n")
        assert status == 200 and body["accepted"] == 2, (status, body)
        status, client = s.get_json("/v1/clients/c1")
        assert status == 200, (status, client)
        assert client["wallets"] == {"points": 100, "bonus": "0.00"}, client
        assert client["pending"] == {"points": 0, "bonus": "20.00"}, client
        assert client["pending_credits"] == [{"wallet": "bonus", "amount": "20.00", "until": "2026-01-17", "seq": 2}], client
        assert client["lots"] == [{"wallet": "points", "amount": 100, "expires": "2026-02-04"}], client
    finally:
        s.stop()


def test_batch(perk, engine):
    s = Server(perk, engine)
    try:
        lines = [deposit("b1", "c1", "250.00", first=True), "",
                 deposit("b2", "c2", "10.001"),
                 '{"type":"deposit","id":"b3",',
                 deposit("b4", "c2", "80", time_="2026-01-05T11:00:00Z"),
                 deposit("b5", "c2", "80", time_="2026-01-05T09:00:00Z")]
        status, body = s.post("\n".join(lines) + "\n")
        assert status == 200, (status, body)
        assert (body["accepted"], body["rejected"]) == (2, 3), body
        recs = body["records"]
        assert [(r["line"], r["status"]) for r in recs] == [
            (1, "accepted"), (3, "rejected"), (4, "rejected"), (5, "accepted"), (6, "rejected")], recs
        assert "2 decimal places" in recs[1]["error"], recs[1]
        assert "JSON" in recs[2]["error"], recs[2]
        assert "out of order" in recs[4]["error"], recs[4]
        assert all(r["effects"] == [] for r in recs if r["status"] == "rejected"), recs
    finally:
        s.stop()


def test_bad_requests(perk, engine):
    s = Server(perk, engine, args=["--max-body", "4096"])
    try:
        # Bad JSON: 400 with the reject reason.
        status, body = s.post('{"type":"deposit", "id": ')
        assert status == 400 and body["error"]["code"] == "rejected" and "JSON" in body["error"]["message"], body
        # A valid JSON record the program rejects: 400 with the reason as well.
        status, body = s.post(deposit("x1", "c1", "1.001"))
        assert status == 400 and "2 decimal places" in body["error"]["message"], body
        status, body = s.post('{"type":"withdrawal","id":"x2","client":"c1","time":"2026-01-05T10:00:00Z"}')
        assert status == 400 and "withdrawal" in body["error"]["message"], body
        # No record at all.
        status, body = s.post("\n\n", content_type="application/x-ndjson")
        assert status == 400 and body["error"]["code"] == "no_records", body
        # Media types.
        for ct in ("text/plain", "application/xml", None):
            status, _, data = s.request("POST", "/v1/events", deposit("x3", "c1", "10").encode(), content_type=ct)
            assert status == 415 and json.loads(data)["error"]["code"] == "unsupported_media_type", (ct, status, data)
        # Oversized: 413 with a JSON body, and the server keeps serving.
        big = "\n".join(deposit(f"big{k}", "c1", "10") for k in range(100))
        status, headers, data = s.request("POST", "/v1/events", big.encode(), "application/x-ndjson")
        assert status == 413 and json.loads(data)["error"]["code"] == "too_large", (status, data)
        # The limit holds for the body as decoded: chunked, or gzip that inflates past it.
        status, _, data = s.request("POST", "/v1/events", big.encode(), "application/x-ndjson", chunked=True)
        assert status == 413 and json.loads(data)["error"]["code"] == "too_large", (status, data)
        packed = gzip.compress(big.encode())
        assert len(packed) < 4096
        status, _, data = s.request("POST", "/v1/events", packed, "application/x-ndjson",
                                    headers={"Content-Encoding": "gzip"})
        assert status == 413 and json.loads(data)["error"]["code"] == "too_large", (status, data)
        status, _, data = s.request("POST", "/v1/program", ("#" * 5000).encode(), "text/plain", chunked=True)
        assert status == 413 and json.loads(data)["error"]["code"] == "too_large", (status, data)
        # Within the limit, chunked and gzip bodies are read like any other.
        status, body = s.post(deposit("x4", "c1", "10"))
        assert status == 200 and body["accepted"] == 1, body
        status, _, data = s.request("POST", "/v1/events", gzip.compress(deposit("x5", "c1", "10").encode()),
                                    headers={"Content-Encoding": "gzip"}, chunked=True)
        assert status == 200 and json.loads(data)["accepted"] == 1, (status, data)
        # Nothing of the oversized batch was processed.
        status, client = s.get_json("/v1/clients/c1")
        assert client["wallets"]["points"] == 2, client
        # Unknown endpoints and methods: JSON 404.
        status, _, data = s.request("GET", "/v2/events")
        assert status == 404 and json.loads(data)["error"]["code"] == "not_found", (status, data)
        for method, path, allow in (("DELETE", "/v1/events", "POST"), ("GET", "/v1/events", "POST"),
                                    ("GET", "/v1/program", "POST"), ("POST", "/metrics", "GET"),
                                    ("POST", "/v1/clients/c1", "GET")):
            status, headers, data = s.request(method, path, b"" if method == "POST" else None)
            assert status == 405 and headers.get("Allow") == allow, (method, path, status, headers, data)
            assert json.loads(data)["error"]["code"] == "method_not_allowed", data
    finally:
        s.stop()


def test_retries_get_the_original_effects(perk, engine):
    s = Server(perk, engine)
    try:
        d1 = deposit("r1", "c1", "250.00", first=True)
        status, first = s.post(d1)
        assert status == 200 and first["accepted"] == 1
        effects = first["records"][0]["effects"]
        before = s.metrics()
        for _ in range(3):
            status, again = s.post(d1)
            assert status == 200 and again["duplicates"] == 1, again
            rec = again["records"][0]
            assert rec["status"] == "duplicate" and rec["effects"] == effects, (rec, effects)
        # A "retry" with a changed body is not the same record: rejected as a conflicting reuse
        # of the id (spec §4, C14), and nothing new happens.
        status, again = s.post(deposit("r1", "c1", "999.00", first=True))
        assert again["rejected"] == 1, again
        assert again["records"][0]["status"] == "rejected" and again["records"][0]["effects"] == [], again
        assert "different content" in again["records"][0]["error"], again
        after = s.metrics()
        assert after["perk_effects_total"] == before["perk_effects_total"], (before, after)
        assert after["perk_retries_answered_total"] == before["perk_retries_answered_total"] + 3, after
        status, client = s.get_json("/v1/clients/c1")
        assert client["wallets"] == {"bonus": "75.00", "points": 25}, client
        # In a batch beside new records.
        status, body = s.post(deposit("r2", "c2", "50") + "\n" + d1 + "\n")
        assert [r["status"] for r in body["records"]] == ["accepted", "duplicate"], body
        assert body["records"][1]["effects"] == effects, body
    finally:
        s.stop()


def test_concurrent_clients(perk, engine):
    s = Server(perk, engine)
    workers, per_worker = 8, 40
    errors, effects = [], []
    lock = threading.Lock()

    def worker(w):
        conn = s.conn()  # one keep-alive connection per client
        try:
            for k in range(per_worker):
                # One time for all: arrival order across connections cannot make a record late.
                body = deposit(f"w{w}-{k}", f"cc{w}", f"{100 + k}.00", first=(k == 0))
                status, _, data = s.request("POST", "/v1/events", body.encode(), "application/json", conn=conn)
                rec = json.loads(data)["records"][0] if status == 200 else None
                with lock:
                    if status != 200 or rec["status"] != "accepted":
                        errors.append((status, data))
                    else:
                        effects.extend(rec["effects"])
        except Exception as e:  # noqa: BLE001 - reported as a failure below
            with lock:
                errors.append(repr(e))
        finally:
            conn.close()

    try:
        threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:5]
        seqs = sorted(e["seq"] for e in effects)
        assert seqs == list(range(1, len(seqs) + 1)), "ledger seqs are not 1..N without gaps or repeats"
        points = sum((100 + k) // 10 for k in range(per_worker))
        for w in range(workers):
            status, client = s.get_json(f"/v1/clients/cc{w}")
            assert client["wallets"] == {"bonus": "30.00", "points": points}, client
        m = s.metrics()
        assert m["perk_accepted_total"] == workers * per_worker, m
        assert m['perk_event_request_seconds_count'] == workers * per_worker, m
    finally:
        s.stop()


def test_metrics(perk, engine):
    s = Server(perk, engine)
    try:
        s.post(deposit("m1", "c1", "250.00", first=True))
        s.post(deposit("m1", "c1", "250.00", first=True))
        s.post(deposit("m2", "c1", "1.001"))
        status, headers, data = s.request("GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain"), headers
        text = data.decode()
        for name, kind in (("perk_records_total", "counter"), ("perk_effects_total", "counter"),
                           ("perk_rejects_total", "counter"), ("perk_event_request_seconds", "histogram"),
                           ("perk_program_version", "gauge")):
            assert f"# TYPE {name} {kind}" in text, name
        m = s.metrics()
        assert (m["perk_records_total"], m["perk_accepted_total"], m["perk_duplicates_total"],
                m["perk_rejects_total"], m["perk_effects_total"]) == (3, 1, 1, 1, 3), m
        assert m["perk_program_version"] == 1, m
        assert m['perk_event_request_seconds_bucket{le="+Inf"}'] == 3, m
        buckets = [v for k, v in m.items() if k.startswith("perk_event_request_seconds_bucket")]
        assert buckets == sorted(buckets), "histogram buckets must be cumulative"
        # Requests are counted once their answer is written, so the last one may show a moment late.
        deadline = time.monotonic() + 5
        while m.get('perk_http_requests_total{endpoint="/v1/events",code="200"}') != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            m = s.metrics()
        assert m['perk_http_requests_total{endpoint="/v1/events",code="200"}'] == 2, m
        assert m['perk_http_requests_total{endpoint="/v1/events",code="400"}'] == 1, m
    finally:
        s.stop()


def test_stops_cleanly_on_sigterm(perk, engine):
    s = Server(perk, engine)
    s.post(deposit("t1", "c1", "10"))
    rc = s.stop(signal.SIGTERM)
    assert rc == 0 and any("stopped" in line for line in s.stderr), (rc, s.stderr)


def test_bad_program_does_not_start(perk, engine):
    bad = tempfile.NamedTemporaryFile("w", suffix=".perk", delete=False)
    bad.write('program "Bad"\nwallet bonus: mony\n')
    bad.close()
    env = dict(os.environ, PERK_TOKEN=TOKEN)
    env.pop("PERK_ADMIN_TOKEN", None)
    p = subprocess.run([perk, "serve", bad.name, "--listen", "127.0.0.1:0", "--engine", engine],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert p.returncode == 1 and "E0001" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run([perk, "serve", PROGRAM, "--listen", "nowhere", "--engine", engine],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert p.returncode == 2 and "HOST:PORT" in p.stderr, (p.returncode, p.stderr)


def post_all(s, records, workers, answers, failures):
    """Posts records (one per request) from `workers` threads, each on its own connection, until
    they are all sent or the server goes away. answers[id] = the effects answered; failures
    collects the ids whose request got no answer."""
    lock = threading.Lock()
    queue = list(records)

    def worker():
        conn = s.conn()
        while True:
            with lock:
                if not queue:
                    break
                record = queue.pop(0)
            rid = json.loads(record)["id"]
            try:
                status, _, data = s.request("POST", "/v1/events", record.encode(), "application/json", conn=conn)
                body = json.loads(data)
                with lock:
                    if status == 200:
                        answers[rid] = body["records"][0]["effects"]
                    else:
                        failures.append((rid, status, body))
            except (OSError, http.client.HTTPException, ValueError):
                with lock:
                    failures.append((rid, None, None))
                conn.close()
                conn = s.conn()
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    return threads


def check_ledger(path, expect_ids):
    """The ledger file: seq 1..N without gaps or repeats, and each event's effects once."""
    entries = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    seqs = [e["seq"] for e in entries]
    assert seqs == list(range(1, len(seqs) + 1)), f"ledger seqs are not 1..{len(seqs)}"
    per_trigger = {}
    for e in entries:
        per_trigger.setdefault(e["trigger"], []).append(e)
    missing = [i for i in expect_ids if i not in per_trigger]
    assert not missing, f"events with no effects in the ledger: {missing[:5]}"
    return entries, per_trigger


def kill_and_restart_case(perk, engine, crash_env=None, kill_after=None):
    """Posts events from 4 connections; the server dies (SIGKILL from here after `kill_after`
    answers, or by PERK_TEST_CRASH at a commit step); a new server on the same state then gets
    every event again. Nothing answered may be lost or changed, nothing applied twice."""
    scratch = tempfile.mkdtemp(prefix="perk-serve-kill-")
    env = dict(os.environ, **(crash_env or {}))
    s = Server(perk, engine, state=True, scratch=scratch, env=env)
    clients, per_client = 6, 30
    records = [deposit(f"k{c}-{k}", f"kc{c}", f"{100 + k}.00", first=(k == 0))
               for k in range(per_client) for c in range(clients)]
    answers, failures = {}, []
    threads = post_all(s, records, 4, answers, failures)
    if kill_after is not None:
        deadline = time.monotonic() + 60
        while len(answers) < kill_after and time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.005)
        s.proc.kill()
    for t in threads:
        t.join(120)
    rc = s.stop()
    assert rc == -signal.SIGKILL, f"the server was to die by SIGKILL, exit {rc}: {''.join(s.stderr)}"
    assert len(answers) < len(records), "the server died only after answering everything; nothing was tested"

    s2 = Server(perk, engine, state=True, scratch=scratch)
    try:
        again, failures2 = {}, []
        for t in post_all(s2, records, 4, again, failures2):
            t.join(120)
        assert not failures2, failures2[:5]
        for rid, effects in answers.items():
            assert again[rid] == effects, f"{rid}: answered {effects} before the kill, {again[rid]} after"
        points = sum((100 + k) // 10 for k in range(per_client))
        for c in range(clients):
            status, client = s2.get_json(f"/v1/clients/kc{c}")
            assert client["wallets"] == {"bonus": "30.00", "points": points}, client
        m = s2.metrics()
        assert m["perk_accepted_total"] == len(records), m
        ids = [json.loads(r)["id"] for r in records]
        entries, per_trigger = check_ledger(s2.state + ".ledger.jsonl", ids)
        # Every answer, before and after the kill, is what the ledger file holds.
        for rid in ids:
            assert per_trigger[rid] == again[rid], rid
    finally:
        s2.stop()
    return answers, s2.stderr


def test_durable_retries_survive_a_restart(perk, engine):
    scratch = tempfile.mkdtemp(prefix="perk-serve-")
    s = Server(perk, engine, state=True, scratch=scratch)
    d1 = deposit("r1", "c1", "250.00", first=True)
    try:
        status, first = s.post(d1)
        assert status == 200 and first["accepted"] == 1, first
        status, batch = s.post(deposit("r2", "c2", "50") + "\n" + deposit("r3", "c2", "1.001") + "\n")
        assert [r["status"] for r in batch["records"]] == ["accepted", "rejected"], batch
    finally:
        assert s.stop() == 0
    # The ledger and rejects files beside the state hold what was answered.
    ledger = [json.loads(line) for line in open(s.state + ".ledger.jsonl")]
    assert ledger == first["records"][0]["effects"] + batch["records"][0]["effects"], ledger
    rejects = [json.loads(line) for line in open(s.state + ".rejects.jsonl")]
    assert len(rejects) == 1 and "2 decimal places" in rejects[0]["error"], rejects
    s = Server(perk, engine, state=True, scratch=scratch)
    try:
        status, again = s.post(d1)
        assert again["records"][0]["status"] == "duplicate", again
        assert again["records"][0]["effects"] == first["records"][0]["effects"], again
        status, client = s.get_json("/v1/clients/c1")
        assert client["wallets"] == {"bonus": "75.00", "points": 25}, client
        status, body = s.post(deposit("r4", "c1", "20"))
        assert body["records"][0]["effects"][0]["seq"] == len(ledger) + 1, body
        assert s.metrics()["perk_records_total"] == 5
    finally:
        s.stop()


def test_durable_concurrent_clients_share_commits(perk, engine):
    s = Server(perk, engine, state=True)
    try:
        records = [deposit(f"g{c}-{k}", f"gc{c}", "100.00", first=(k == 0)) for k in range(25) for c in range(8)]
        answers, failures = {}, []
        for t in post_all(s, records, 8, answers, failures):
            t.join(120)
        assert not failures and len(answers) == len(records), failures[:5]
        entries, per_trigger = check_ledger(s.state + ".ledger.jsonl", answers)
        for rid, effects in answers.items():
            assert per_trigger[rid] == effects, rid
    finally:
        s.stop()


def test_sigkill_and_restart_lose_nothing(perk, engine):
    kill_and_restart_case(perk, engine, kill_after=40)


def test_crash_between_ledger_write_and_commit(perk, engine):
    # The ledger bytes of a batch are on disk, its commit is not: the restart drops them (nobody
    # was answered with them) and the retries write the events' effects once.
    _, notes = kill_and_restart_case(perk, engine, crash_env={"PERK_TEST_CRASH": "after-write:12"})
    assert any("dropped" in line and "never confirmed" in line for line in notes), notes


def test_crash_before_and_after_commit(perk, engine):
    kill_and_restart_case(perk, engine, crash_env={"PERK_TEST_CRASH": "before-commit:9"})
    kill_and_restart_case(perk, engine, crash_env={"PERK_TEST_CRASH": "after-commit:15"})


def reload_under_load(perk, engine, state):
    s = Server(perk, engine, state=state)
    v2 = open(os.path.join(HERE, "welcome_v2.perk"), encoding="utf-8").read()
    drop = open(os.path.join(HERE, "welcome_drop.perk"), encoding="utf-8").read()
    try:
        # Four clients post their own deposits without pause until told to stop: the reload
        # lands in the middle of a steady load, whatever the speed of the machine.
        answers, failures = {}, []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(c):
            conn = s.conn()
            k = 0
            while not stop.is_set():
                rid = f"u{c}-{k}"
                body = deposit(rid, f"uc{c}", "100.00", first=(k == 0))
                try:
                    status, _, data = s.request("POST", "/v1/events", body.encode(), "application/json", conn=conn)
                    rec = json.loads(data)["records"][0]
                    with lock:
                        if status == 200 and rec["status"] == "accepted":
                            answers[rid] = rec["effects"]
                        else:
                            failures.append((rid, status, rec))
                except (OSError, http.client.HTTPException, ValueError) as e:
                    with lock:
                        failures.append((rid, None, repr(e)))
                k += 1
            conn.close()

        threads = [threading.Thread(target=worker, args=(c,)) for c in range(4)]
        for t in threads:
            t.start()
        while len(answers) < 40:
            time.sleep(0.005)
        status, _, data = s.request("POST", "/v1/program", v2.encode(), "text/plain")
        reply = json.loads(data)
        assert status == 200 and reply["version"] == 2 and reply["program"] == "Welcome", (status, reply)
        answered_at_reload = len(answers)
        while len(answers) < answered_at_reload + 40:
            time.sleep(0.005)
        stop.set()
        for t in threads:
            t.join(120)
        assert not failures, f"requests dropped during the reload: {failures[:5]}"
        # Records after the swap ran the new version's rules; none ran both; none twice.
        with_cashback = [rid for rid, eff in answers.items() if any(e["rule"] == "one_percent" for e in eff)]
        assert with_cashback, "no record ran the new program"
        m = s.metrics()
        assert m["perk_program_version"] == 2 and m["perk_accepted_total"] == len(answers), m
        for c in range(4):
            status, client = s.get_json(f"/v1/clients/uc{c}")
            mine = sum(1 for rid in answers if rid.startswith(f"u{c}-"))
            ran_v2 = sum(1 for rid in with_cashback if rid.startswith(f"u{c}-"))
            assert client["wallets"]["bonus"] == "30.00" and client["wallets"]["points"] == 10 * mine, client
            assert client["wallets"]["cashback"] == f"{ran_v2:.2f}", (client, ran_v2)
        if state:
            check_ledger(s.state + ".ledger.jsonl", answers)
        # A version that would drop the points wallet, and the budget history of the removed
        # `one_percent` rule, is refused, and the old one goes on.
        status, _, data = s.request("POST", "/v1/program", drop.encode(), "text/plain")
        err = json.loads(data)["error"]
        assert status == 409 and err["code"] == "upgrade" and "points" in err["message"], (status, err)
        assert "rule `one_percent` removed or renamed" in err["message"] and "renamed from" in err["message"], err
        status, body = s.post(deposit("after-409", "uc0", "10"))
        assert any(e["rule"] == "one_percent" for e in body["records"][0]["effects"]), body
        # A program with errors: 400 with the diagnostics.
        status, _, data = s.request("POST", "/v1/program", b'program "x"\nwallet w: mony\n', "text/plain")
        err = json.loads(data)["error"]
        assert status == 400 and err["code"] == "program" and "E0001" in err["message"], (status, err)
        # Allowed to drop, with a param for the new version.
        status, _, data = s.request(
            "POST", "/v1/program?allow_drop=points&allow_drop=cashback&allow_drop=one_percent&allow_drop=pionts"
            "&param=rate%3D10%25",
            drop.encode(), "text/plain")
        reply = json.loads(data)
        assert status == 200 and reply["version"] == 3, (status, reply)
        # The misspelt name drops nothing, and the reply says so.
        assert any("pionts" in n and "drops nothing" in n for n in reply["notes"]), reply
        assert not any("points" in n and "drops nothing" in n for n in reply["notes"]), reply
        assert any("rule `one_percent`" in n for n in reply["notes"]), reply
        status, client = s.get_json("/v1/clients/uc0")
        assert client["wallets"] == {"bonus": "30.00"}, client
        status, body = s.post(deposit("v3", "new-client", "100.00", first=True))
        assert body["records"][0]["effects"][0]["amount"] == "10.00", body
        assert s.metrics()["perk_program_version"] == 3
    finally:
        s.stop()
    if state:
        # The upgraded state serves the new version after a restart.
        s = Server(perk, engine, program=os.path.join(HERE, "welcome_drop.perk"), state=True, scratch=s.scratch,
                   args=["--param", "rate=10%"])
        try:
            status, client = s.get_json("/v1/clients/uc0")
            assert client["wallets"] == {"bonus": "30.00"}, client
        finally:
            s.stop()


def test_reload_under_load_in_memory(perk, engine):
    reload_under_load(perk, engine, state=False)


def test_reload_under_load_durable(perk, engine):
    reload_under_load(perk, engine, state=True)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("--engine", default="jit,interp")
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    args = ap.parse_args()
    perk = os.path.abspath(args.perk)
    passed = failed = 0
    for engine in [e for e in args.engine.split(",") if e]:
        for test in TESTS:
            if args.k not in test.__name__:
                continue
            name = f"{test.__name__} ({engine})"
            started = time.monotonic()
            try:
                test(perk, engine)
                passed += 1
                print(f"ok    {name}  [{time.monotonic() - started:.1f}s]")
            except Exception:  # noqa: BLE001 - every failure is reported, then the next test runs
                failed += 1
                print(f"FAIL  {name}")
                print("      " + traceback.format_exc().rstrip().replace("\n", "\n      "))
            sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
