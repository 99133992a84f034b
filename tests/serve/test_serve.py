#!/usr/bin/env python3
"""Integration tests of `perk serve`: each starts the real server on a free loopback port and
drives it over real HTTP (http.client, standard library only).

    test_serve.py --perk build/perk [--engine jit,interp] [-k NAME]

Last line: `N passed, N failed`. No timing assertions: speed is bench/serve_bench.py's job.
"""
import argparse
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(ROOT, "examples", "embed", "welcome.perk")
TOKEN = "s3cret-token"


class Server:
    """A `perk serve` process on 127.0.0.1 with a port the kernel picked."""

    def __init__(self, perk, engine, program=PROGRAM, token=TOKEN, via="file", args=(), env=None, scratch=None):
        self.token = token
        self.scratch = scratch or tempfile.mkdtemp(prefix="perk-serve-")
        cmd = [perk, "serve", program, "--listen", "127.0.0.1:0", "--engine", engine, *args]
        env = dict(env if env is not None else os.environ)
        env.pop("PERK_TOKEN", None)
        if token is not None and via == "file":
            path = os.path.join(self.scratch, "token")
            with open(path, "w") as f:
                f.write(token + "\n")
            cmd += ["--token-file", path]
        elif token is not None and via == "env":
            env["PERK_TOKEN"] = token
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        self.stderr = []
        self.port = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.stderr.append(line)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
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
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, content_type="application/json", token="default", conn=None,
                headers=None):
        c = conn or self.conn()
        h = dict(headers or {})
        if content_type is not None and body is not None:
            h["Content-Type"] = content_type
        tok = self.token if token == "default" else token
        if tok is not None:
            h["Authorization"] = f"Bearer {tok}"
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
        status, body = s.post(deposit("x4", "c1", "10"))
        assert status == 200 and body["accepted"] == 1, body
        # Nothing of the oversized batch was processed.
        status, client = s.get_json("/v1/clients/c1")
        assert client["wallets"]["points"] == 1, client
        # Unknown endpoints and methods: JSON 404.
        for method, path in (("GET", "/v2/events"), ("DELETE", "/v1/events"), ("GET", "/v1/events")):
            status, _, data = s.request(method, path)
            assert status in (404, 405) and "error" in json.loads(data), (method, path, status, data)
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
        # A retry with a changed body is still the same event: the original effects, nothing new.
        status, again = s.post(deposit("r1", "c1", "999.00", first=True))
        assert again["records"][0]["effects"] == effects, again
        after = s.metrics()
        assert after["perk_effects_total"] == before["perk_effects_total"], (before, after)
        assert after["perk_retries_answered_total"] == before["perk_retries_answered_total"] + 4, after
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
    p = subprocess.run([perk, "serve", bad.name, "--listen", "127.0.0.1:0", "--engine", engine],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert p.returncode == 1 and "E0001" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run([perk, "serve", PROGRAM, "--listen", "nowhere", "--engine", engine],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert p.returncode == 2 and "HOST:PORT" in p.stderr, (p.returncode, p.stderr)


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
