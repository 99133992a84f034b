"""A small LSP client for tests and benchmarks: runs `perk lsp` over pipes, frames messages,
and reads the server's messages on a thread so a test can wait for one with a timeout."""
import json
import queue
import subprocess
import threading
import time


def frame(body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


class Client:
    def __init__(self, perk, stderr=subprocess.DEVNULL):
        self.proc = subprocess.Popen([perk, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self.messages = queue.Queue()
        self.next_id = 1
        self.pending = []  # messages read while waiting for another one
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = out.read(length)
            self.messages.put(json.loads(body.decode("utf-8")))

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send_raw(frame(msg))

    def request(self, method, params=None):
        """Sends a request and returns its id."""
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_raw(frame(msg))
        return rid

    def wait(self, match, timeout=10):
        """The first message (read now or earlier) for which match(msg) is true."""
        for k, msg in enumerate(self.pending):
            if match(msg):
                return self.pending.pop(k)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching message from the server")
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                raise TimeoutError("no matching message from the server")
            if msg is None:
                raise EOFError("the server closed its output")
            if match(msg):
                return msg
            self.pending.append(msg)

    def response(self, rid, timeout=10):
        return self.wait(lambda m: m.get("id") == rid and ("result" in m or "error" in m), timeout)

    def call(self, method, params=None, timeout=10):
        return self.response(self.request(method, params), timeout)

    def diagnostics(self, uri, timeout=10):
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri, timeout)["params"]

    def initialize(self):
        r = self.call("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})
        return r

    def open(self, uri, text, version=1):
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "perk", "version": version, "text": text}})

    def close(self):
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
