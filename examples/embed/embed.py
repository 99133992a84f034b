#!/usr/bin/env python3
"""Calling Perk from Python through libperk with ctypes (standard library only).

    python3 embed.py welcome.perk jit [--lib /usr/local/lib/libperk.so]

The steps of embed.c, printing the same transcript; tests/embed/run_embed.py checks it.
The `Perk` class below is a small, complete binding you can copy.
"""
import argparse
import ctypes
import json
import sys


class PerkError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Counts(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("records", "accepted", "duplicates", "rejected", "effects")]


class Options(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("engine", ctypes.c_char_p),
        ("state_path", ctypes.c_char_p),
        ("params", ctypes.POINTER(ctypes.c_char_p)),
        ("param_count", ctypes.c_size_t),
        ("allow_drop", ctypes.POINTER(ctypes.c_char_p)),
        ("allow_drop_count", ctypes.c_size_t),
    ]


EFFECT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)
STATUS = ("accepted", "duplicate", "rejected")
NOT_FOUND = 6


def load(path):
    lib = ctypes.CDLL(path)
    p, sz, vp = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p
    cp = ctypes.POINTER(ctypes.c_char)  # not c_char_p: results may hold any bytes and have a length
    signatures = {
        "perk_version": (ctypes.c_char_p, []),
        "perk_last_error": (ctypes.c_char_p, []),
        "perk_options_init": (None, [ctypes.POINTER(Options)]),
        "perk_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(p)]),
        "perk_open_source": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, sz, ctypes.POINTER(Options),
                                            ctypes.POINTER(p)]),
        "perk_close": (None, [p]),
        "perk_process": (ctypes.c_int, [p, ctypes.c_char_p, sz, ctypes.POINTER(p)]),
        "perk_process_each": (ctypes.c_int, [p, ctypes.c_char_p, sz, EFFECT_FN, vp, ctypes.POINTER(Counts)]),
        "perk_result_counts": (None, [p, ctypes.POINTER(Counts)]),
        "perk_result_ledger": (cp, [p, ctypes.POINTER(sz)]),
        "perk_result_rejects": (cp, [p, ctypes.POINTER(sz)]),
        "perk_result_json": (cp, [p, ctypes.POINTER(sz)]),
        "perk_result_record_count": (sz, [p]),
        "perk_result_record_status": (ctypes.c_int, [p, sz]),
        "perk_result_record_effects": (cp, [p, sz, ctypes.POINTER(sz)]),
        "perk_result_free": (None, [p]),
        "perk_client_json": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.POINTER(cp), ctypes.POINTER(sz)]),
        "perk_stats": (ctypes.c_int, [p, ctypes.POINTER(Counts)]),
        "perk_free": (None, [vp]),
    }
    for name, (restype, argtypes) in signatures.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    return lib


def text(lib_fn, *args):
    n = ctypes.c_size_t(0)
    ptr = lib_fn(*args, ctypes.byref(n))
    return ctypes.string_at(ptr, n.value).decode("utf-8")


class Result:
    def __init__(self, lib, handle):
        self.lib, self.handle = lib, handle
        c = Counts()
        lib.perk_result_counts(handle, ctypes.byref(c))
        self.counts = c
        self.ledger = text(lib.perk_result_ledger, handle)
        self.rejects = text(lib.perk_result_rejects, handle)
        self.json = json.loads(text(lib.perk_result_json, handle))
        self.records = [(STATUS[lib.perk_result_record_status(handle, k)],
                         text(lib.perk_result_record_effects, handle, k))
                        for k in range(lib.perk_result_record_count(handle))]
        lib.perk_result_free(handle)


class Perk:
    """One engine. Safe to share between threads: libperk serialises calls on it, and ctypes
    releases the GIL while they run."""

    def __init__(self, lib, program=None, source=None, name="<source>", engine="jit", params=(), state_path=None,
                 allow_drop=()):
        self.lib = lib
        opts = Options()
        lib.perk_options_init(ctypes.byref(opts))
        opts.engine = engine.encode()
        if state_path:
            opts.state_path = state_path.encode()
        self._params = (ctypes.c_char_p * max(1, len(params)))(*[p.encode() for p in params])
        opts.params = ctypes.cast(self._params, ctypes.POINTER(ctypes.c_char_p))
        opts.param_count = len(params)
        self._drops = (ctypes.c_char_p * max(1, len(allow_drop)))(*[d.encode() for d in allow_drop])
        opts.allow_drop = ctypes.cast(self._drops, ctypes.POINTER(ctypes.c_char_p))
        opts.allow_drop_count = len(allow_drop)
        handle = ctypes.c_void_p()
        if source is not None:
            data = source.encode()
            status = lib.perk_open_source(name.encode(), data, len(data), ctypes.byref(opts), ctypes.byref(handle))
        else:
            status = lib.perk_open(program.encode(), ctypes.byref(opts), ctypes.byref(handle))
        self._check(status)
        self.handle = handle

    def _check(self, status):
        if status != 0:
            raise PerkError(status, self.lib.perk_last_error().decode())

    def process(self, jsonl):
        data = jsonl.encode()
        out = ctypes.c_void_p()
        self._check(self.lib.perk_process(self.handle, data, len(data), ctypes.byref(out)))
        return Result(self.lib, out)

    def process_each(self, jsonl, on_effect):
        data = jsonl.encode()
        counts = Counts()

        def trampoline(_user, ptr, n):
            on_effect(ctypes.string_at(ptr, n).decode("utf-8"))
            return 0

        callback = EFFECT_FN(trampoline)  # kept alive for the call
        self._check(self.lib.perk_process_each(self.handle, data, len(data), callback, None, ctypes.byref(counts)))
        return counts

    def client(self, client_id):
        """The client's state as a JSON string, or None for a client the engine has not seen."""
        ptr, n = ctypes.POINTER(ctypes.c_char)(), ctypes.c_size_t(0)
        status = self.lib.perk_client_json(self.handle, client_id.encode(), ctypes.byref(ptr), ctypes.byref(n))
        if status == NOT_FOUND:
            return None
        self._check(status)
        try:
            return ctypes.string_at(ptr, n.value).decode("utf-8")
        finally:
            self.lib.perk_free(ptr)

    def stats(self):
        c = Counts()
        self._check(self.lib.perk_stats(self.handle, ctypes.byref(c)))
        return c

    def close(self):
        if self.handle:
            self.lib.perk_close(self.handle)
            self.handle = None


def print_lines(s):
    for line in s.splitlines():
        print("  " + line)


def show(perk, title, jsonl):
    r = perk.process(jsonl)
    c = r.counts
    print(f"{title}: {c.records} records, {c.accepted} accepted, {c.duplicates} duplicates, "
          f"{c.rejected} rejected, {c.effects} effects")
    for k, (status, effects) in enumerate(r.records, 1):
        print(f" record {k}: {status}")
        print_lines(effects)
    if r.rejects:
        print(" rejects:")
        print_lines(r.rejects)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    ap.add_argument("engine", choices=["jit", "interp"])
    ap.add_argument("--lib", default="libperk.so.0", help="path of libperk.so")
    args = ap.parse_args()
    lib = load(args.lib)
    print(f"libperk {lib.perk_version().decode()}")
    perk = Perk(lib, program=args.program, engine=args.engine, params=["rate=25%"])
    print("opened the program with rate=25%")

    d1 = '{"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.00","first":true}'
    show(perk, "one record", d1)
    show(perk, "batch",
         '{"type":"deposit","id":"d2","client":"c2","time":"2026-01-05T11:00:00Z","amount":80}\n'
         + d1 + "\n"
         + '{"type":"deposit","id":"d3","client":"c2","time":"2026-01-05T12:00:00Z","amount":"10.001"}\n')

    seen = []

    def on_effect(entry):
        seen.append(entry)
        print(f"  callback: {entry}")

    counts = perk.process_each(
        '{"type":"deposit","id":"d4","client":"c1","time":"2026-01-06T09:00:00Z","amount":40}', on_effect)
    print(f"callback saw {len(seen)} effects of {counts.effects}")

    print(f"client c1: {perk.client('c1')}")
    assert perk.client("nobody") is None
    print(f"client nobody: status {NOT_FOUND}: {lib.perk_last_error().decode()}")
    c = perk.stats()
    print(f"totals: {c.records} records, {c.accepted} accepted, {c.duplicates} duplicates, {c.effects} effects")
    perk.close()

    try:
        Perk(lib, source='program "Broken"\nwallet bonus: mony\n', name="broken.perk")
    except PerkError as e:
        print(f"broken program: status {e.status}: {str(e).splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
