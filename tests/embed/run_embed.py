#!/usr/bin/env python3
"""libperk as a user gets it: install the build into a scratch prefix (cmake --install), then
build and run the embedding examples against the installed tree only, through pkg-config
(C, shared), the CMake package config (C++ wrapper; C with the static archive) and ctypes
(Python). Each example prints the same transcript, checked against examples/embed/expected.txt.
The thread-safety tests (C and Python) and the durable-state test run against the installed
library too.

    run_embed.py [--build build] [--engine jit,interp]

Last line: `N passed, N failed`.
"""
import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples", "embed")
PROGRAM = os.path.join(EXAMPLES, "welcome.perk")


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}")
            if detail:
                print("      " + detail.rstrip().replace("\n", "\n      "))


def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--engine", default="jit,interp")
    args = ap.parse_args()
    engines = [e for e in args.engine.split(",") if e]
    results = Results()
    expected = open(os.path.join(EXAMPLES, "expected.txt"), encoding="utf-8").read()

    def transcript(name, cmd, env=None):
        rc, out, err = run(cmd, env=env)
        diff = "".join(difflib.unified_diff(expected.splitlines(True), out.splitlines(True), "expected.txt", name))
        results.check(name, rc == 0 and out == expected, f"exit {rc}\n{err}{diff}")

    scratch = tempfile.mkdtemp(prefix="perk-embed-")
    try:
        prefix = os.path.join(scratch, "prefix")
        rc, out, err = run(["cmake", "--install", args.build, "--prefix", prefix])
        results.check("cmake --install", rc == 0, out + err)
        if rc != 0:
            return finish(results)
        libdir = next((os.path.join(prefix, d) for d in ("lib", "lib64") if os.path.isdir(os.path.join(prefix, d))),
                      os.path.join(prefix, "lib"))
        wanted = ["include/perk/perk.h", "include/perk/perk.hpp", "bin/perk"]
        wanted += [os.path.relpath(os.path.join(libdir, f), prefix)
                   for f in ("libperk.so", "libperk.so.0", "libperk.a", "pkgconfig/perk.pc", "cmake/perk/perkConfig.cmake",
                             "cmake/perk/perkConfigVersion.cmake")]
        missing = [w for w in wanted if not os.path.exists(os.path.join(prefix, w))]
        results.check("installed files", not missing, "missing: " + ", ".join(missing))

        # Only the C API is exported from the shared library.
        rc, out, err = run(["nm", "-D", "--defined-only", os.path.join(libdir, "libperk.so")])
        symbols = [line.split()[-1].split("@")[0] for line in out.splitlines() if line.split()[1:2] == ["T"]]
        stray = [s for s in symbols if not s.startswith("perk_")]
        results.check("exports only perk_* functions", rc == 0 and symbols and not stray,
                      f"{len(symbols)} exported, stray: {stray[:10]}")

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"), LD_LIBRARY_PATH=libdir)
        rc, flags, err = run(["pkg-config", "--cflags", "--libs", "perk"], env=env)
        results.check("pkg-config perk", rc == 0 and "-lperk" in flags, err)
        exe_c = os.path.join(scratch, "embed_c")
        rc, out, err = run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(EXAMPLES, "embed.c"), "-o", exe_c]
                           + flags.split(), env=env)
        results.check("build embed.c with pkg-config", rc == 0, out + err)
        exe_threads = os.path.join(scratch, "threads")
        rc, out, err = run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                            os.path.join(ROOT, "tests", "embed", "threads.c"), "-o", exe_threads, "-lpthread"]
                           + flags.split(), env=env)
        results.check("build threads.c with pkg-config", rc == 0, out + err)

        cmake_build = os.path.join(scratch, "cmake-build")
        rc, out, err = run(["cmake", "-S", EXAMPLES, "-B", cmake_build, f"-DCMAKE_PREFIX_PATH={prefix}",
                            "-DCMAKE_BUILD_TYPE=Release"])
        if rc == 0:
            rc, out2, err2 = run(["cmake", "--build", cmake_build, "-j", "2"])
            out, err = out + out2, err + err2
        results.check("build embed.cpp and the static embed.c with find_package(perk)", rc == 0, out + err)

        # The static build must not need libperk.so at run time.
        static_exe = os.path.join(cmake_build, "embed_static")
        rc, out, err = run(["ldd", static_exe])
        results.check("embed_static does not load libperk.so", rc == 0 and "libperk" not in out, out + err)

        for engine in engines:
            transcript(f"C ({engine})", [exe_c, PROGRAM, engine], env=env)
            transcript(f"C++ wrapper ({engine})", [os.path.join(cmake_build, "embed_cpp"), PROGRAM, engine], env=env)
            transcript(f"C static ({engine})", [static_exe, PROGRAM, engine])
            transcript(f"Python ctypes ({engine})",
                       [sys.executable, os.path.join(EXAMPLES, "embed.py"), PROGRAM, engine, "--lib",
                        os.path.join(libdir, "libperk.so")])
            rc, out, err = run([exe_threads, PROGRAM, engine], env=env)
            results.check(f"C threads ({engine})", rc == 0 and out.rstrip().endswith(": ok"), out + err)
            rc, out, err = run([sys.executable, os.path.join(ROOT, "tests", "embed", "threads.py"), PROGRAM, engine,
                                "--lib", os.path.join(libdir, "libperk.so")])
            results.check(f"Python threads ({engine})", rc == 0 and out.rstrip().endswith(": ok"), out + err)
            rc, out, err = run([sys.executable, os.path.join(ROOT, "tests", "embed", "durable.py"), PROGRAM, engine,
                                "--lib", os.path.join(libdir, "libperk.so")])
            results.check(f"durable state ({engine})", rc == 0 and out.rstrip().endswith(": ok"), out + err)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return finish(results)


def finish(results):
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
