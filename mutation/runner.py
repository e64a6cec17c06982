"""Mutation testing of ``policies/`` and ``stack_config/`` with cosmic-ray (``make mutation``).

cosmic-ray writes each mutant into the source file, runs a test command, and restores the file. This
script wraps it in three ways, none of which changes what counts as killed:

* **Isolation.** Each folder is mutated in its own copy of the work tree under ``build/mutation/``,
  never in the tree people edit; the two folders run in parallel (``--jobs``, one process each).
* **Speed.** The test command is a tiny client of a fork server that imported pytest, pydantic and
  the Pulumi SDKs once. Per mutant it forks, drops the mutated packages from ``sys.modules`` (so the
  child imports the mutant from disk) and runs the folder's tests with ``-x``.
* **Test selection.** A first child records which tests execute which lines. A mutant then runs only
  the tests that execute its statement; a mutant on a line executed at import time (a decorator, a
  ``Field(...)`` default, a constant) runs them all, and so does any file the map does not cover. A
  mutant on a line no test executes survives without a run: that is exactly what it is.

Annotations in ``policies/`` are never evaluated (``from __future__ import annotations``, no
introspection), so mutants inside them are recorded as skipped; in ``stack_config/`` pydantic evaluates
them, so they run. Survivors that cannot be killed are listed with the reason in
``mutation/equivalent.toml`` and counted apart (``docs/mutation-testing.md``).

    python mutation/runner.py [--targets policies stack_config] [--jobs 2] [--source .] [--out build/mutation]
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS: dict[str, dict[str, Any]] = {
    "policies": {
        "modules": ["policies"],
        "tests": [
            "tests/policies/test_boundaries.py",
            "tests/policies/test_resource_guards.py",
            "tests/policies/test_stack_guards.py",
            "tests/policies/test_edge_guards.py",
            "tests/policies/test_environment.py",
            "tests/policies/test_pack.py",
            "tests/test_aws_data_guards.py",
            "tests/policies/test_tenant_guards.py",
        ],
        "pydantic_fields": False,
    },
    "stack_config": {
        "modules": ["stack_config"],
        "tests": [
            "tests/test_config_hardening.py",
            "tests/test_stack_config.py",
            "tests/test_apps_config.py",
            "tests/test_tenants_config.py",
            "tests/test_backup_config.py",
            "tests/test_eks_config.py",
            "tests/test_edge_config.py",
            "tests/observability/test_observability_config.py",
        ],
        "pydantic_fields": True,
    },
}
"""Each folder and the behavioural tests that must kill its mutants (no whole-program runs: too slow)."""

PRELOAD = ("pytest", "pydantic", "pulumi", "pulumi_digitalocean", "pulumi_aws", "pulumi_policy", "yaml", "jsonschema")
COPY_IGNORE = shutil.ignore_patterns(".venv*", ".git", "build", "__pycache__", ".mypy_cache", ".ruff_cache", "*.pyc")
TIMEOUT = 60.0


# ------------------------------------------------------------------------------------------------
# Fork server (runs inside the copied tree)


class _Tracer:
    """Per-test line coverage of the target files: {file: {line: [test ids]}}, import time as ''."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = tuple(str(Path(r).resolve()) + os.sep for r in roots)
        self.current = ""
        self.hits: dict[str, dict[int, set[str]]] = {}
        self.failed: set[str] = set()

    def global_trace(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_filename.startswith(self.roots):
            return self.local_trace
        return None

    def local_trace(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            lines = self.hits.setdefault(frame.f_code.co_filename, {})
            lines.setdefault(frame.f_lineno, set()).add(self.current)
        return self.local_trace


class _Selector:
    """pytest plugin: keep only the selected test ids (None keeps all); optionally trace coverage."""

    def __init__(
        self, selected: set[str] | None, tracer: _Tracer | None = None, skip: frozenset[str] | set[str] = frozenset()
    ) -> None:
        self.selected = selected
        self.tracer = tracer
        self.skip = skip

    def pytest_collection_modifyitems(self, session: Any, config: Any, items: list[Any]) -> None:
        keep = [i for i in items if self.selected is None or i.nodeid in self.selected]
        items[:] = [i for i in keep if i.nodeid not in self.skip]

    def pytest_runtest_setup(self, item: Any) -> None:
        if self.tracer is not None:
            self.tracer.current = item.nodeid

    def pytest_runtest_teardown(self, item: Any, nextitem: Any) -> None:
        if self.tracer is not None:
            self.tracer.current = ""

    def pytest_runtest_logreport(self, report: Any) -> None:
        if self.tracer is not None and report.failed:
            self.tracer.failed.add(report.nodeid)


def _purge(prefixes: Iterable[str]) -> None:
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            del sys.modules[name]


def _pytest(
    tests: list[str],
    selected: set[str] | None,
    tracer: _Tracer | None = None,
    skip: frozenset[str] | set[str] = frozenset(),
) -> int:
    import pytest  # noqa: PLC0415 - preloaded by the server

    # Without -x while tracing: the baseline run must see every test (and which ones fail).
    stop = [] if tracer is not None else ["-x"]
    args = [*stop, "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-o", "addopts=", "--no-header", *tests]
    return int(pytest.main(args, plugins=[_Selector(selected, tracer, skip)]))


def _quiet() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def _innermost_statement_lines(source: str) -> dict[int, int]:
    """For every line, the first line of the innermost statement containing it."""
    tree = ast.parse(source)
    owner: dict[int, tuple[int, int]] = {}  # line -> (span, first line)
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.end_lineno is not None:
            span = node.end_lineno - node.lineno
            for line in range(node.lineno, node.end_lineno + 1):
                if line not in owner or span < owner[line][0]:
                    owner[line] = (span, node.lineno)
    return {line: first for line, (_, first) in owner.items()}


def _scopes(source: str) -> dict[int, tuple[int, int]]:
    """For every line inside a class or function, the span of the innermost one."""
    spans: dict[int, tuple[int, int]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.end_lineno is not None:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            for line in range(first, node.end_lineno + 1):
                if line not in spans or node.end_lineno - first < spans[line][1] - spans[line][0]:
                    spans[line] = (first, node.end_lineno)
    return spans


def _coverage_map(root: Path, modules: list[str], tests: list[str]) -> tuple[dict[str, dict[int, set[str]]], set[str]]:
    """Which tests execute which lines, from one traced run in a child (the server never imports the targets)."""
    map_file = root / ".mutation-coverage.json"
    pid = os.fork()
    if pid == 0:
        _quiet()
        tracer = _Tracer(modules)
        sys.settrace(tracer.global_trace)
        import threading  # noqa: PLC0415

        threading.settrace(tracer.global_trace)
        code = _pytest(tests, None, tracer)
        sys.settrace(None)
        data = {f: {str(n): sorted(ids) for n, ids in lines.items()} for f, lines in tracer.hits.items()}
        map_file.write_text(json.dumps({"code": code, "hits": data, "failed": sorted(tracer.failed)}))
        os._exit(0)
    os.waitpid(pid, 0)
    baseline = json.loads(map_file.read_text())
    if baseline["failed"]:
        # A test failing without any mutant cannot kill one: it is left out, and said so.
        print(f"[mutation] left out, failing unmutated: {baseline['failed']}", file=sys.stderr)
        (root.parent / "failing-tests.txt").write_text("\n".join(baseline["failed"]) + "\n")
    elif baseline["code"] != 0:
        print(f"[mutation] the unmutated tests fail (exit {baseline['code']}): fix them first", file=sys.stderr)
        sys.exit(2)
    failed = set(baseline["failed"])
    hits = {f: {int(n): set(ids) - failed for n, ids in lines.items()} for f, lines in baseline["hits"].items()}
    return hits, failed


def _run_child(
    tests: list[str], purge: tuple[str, ...], chosen: set[str] | None, skip: frozenset[str] | set[str] = frozenset()
) -> int:
    """Exit code of the tests in a forked child that imports the target packages afresh from disk."""
    child = os.fork()
    if child == 0:
        os.setsid()
        _purge(purge)
        _quiet()
        os._exit(_pytest(tests, chosen, skip=skip))
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 1
        time.sleep(0.01)
    os.killpg(child, signal.SIGKILL)
    os.waitpid(child, 0)
    return 1  # a timeout kills the mutant, as cosmic-ray counts it


def serve(sock_path: str, modules: list[str], tests: list[str]) -> None:
    """Answer each client with the exit code of the selected tests against the files as they are now."""
    sys.dont_write_bytecode = True
    for name in PRELOAD:
        __import__(name)
    root = Path.cwd()
    sys.path.insert(0, str(root))
    originals = {p: p.read_text() for m in modules for p in sorted((root / m).rglob("*.py"))}
    statements = {p: _innermost_statement_lines(src) for p, src in originals.items()}
    scopes = {p: _scopes(src) for p, src in originals.items()}
    purge = ("tests", *modules)

    hits, failing = _coverage_map(root, modules, tests)

    def selection() -> tuple[set[str], bool]:
        """(tests that execute the mutated statements, whether every test must run after them)."""
        selected: set[str] = set()
        run_all = False
        for path, before in originals.items():
            now = path.read_text()
            if now == before:
                continue
            file_hits = hits.get(str(path))
            if not file_hits:
                return set(), True  # a file the map does not cover (e.g. only run in a subprocess)
            changed: set[int] = set()
            matcher = difflib.SequenceMatcher(a=before.splitlines(), b=now.splitlines(), autojunk=False)
            for tag, i1, i2, _, _ in matcher.get_opcodes():
                if tag != "equal":
                    changed.update(range(i1 + 1, max(i2, i1 + 1) + 1))
            for line in changed:
                for probe in {line, statements[path].get(line, line)}:
                    ids = file_hits.get(probe, set())
                    if "" in ids:
                        # Executed at import time: every test may depend on it. The tests that run the
                        # enclosing class or function go first, so most such mutants die quickly.
                        run_all = True
                        first, last = scopes[path].get(line, (line, line))
                        for n in range(first, last + 1):
                            selected |= file_hits.get(n, set()) - {""}
                    selected |= ids - {""}
        return selected, run_all

    if os.path.exists(sock_path):
        os.unlink(sock_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    print("[mutation] server ready", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            if conn.recv(16).strip() == b"stop":
                break
            chosen, run_all = selection()
            code = _run_child(tests, purge, chosen) if chosen else 0
            if code == 0 and run_all:
                code = _run_child(tests, purge, None, failing)
            conn.sendall(str(code).encode())
    server.close()


def client(sock_path: str) -> int:
    """The cosmic-ray test command: ask the server, exit with the tests' verdict (non-zero = killed)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(TIMEOUT + 30)
        conn.connect(sock_path)
        conn.sendall(b"run\n")
        reply = conn.recv(16)
    return int(reply or b"1")


# ------------------------------------------------------------------------------------------------
# Orchestration


def _annotation_spans(source: str, class_fields_evaluated: bool) -> list[tuple[int, int, int, int]]:
    """Source spans of annotations Python never evaluates here.

    Every module has ``from __future__ import annotations``: function signatures are never evaluated
    (pydantic reads a validator's parameters, not their types), and neither is a variable annotation,
    except a field of a pydantic model (``class_fields_evaluated``), which pydantic resolves at import.
    """
    spans = []
    tree = ast.parse(source)
    class_bodies: set[int] = set()
    if class_fields_evaluated:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                class_bodies.update(id(stmt) for stmt in node.body)
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None:
                    annotations.append(arg.annotation)
        elif isinstance(node, ast.AnnAssign) and id(node) not in class_bodies:
            annotations.append(node.annotation)
        for a in annotations:
            if a is not None and a.end_lineno is not None and a.end_col_offset is not None:
                spans.append((a.lineno, a.col_offset, a.end_lineno, a.end_col_offset))
    return spans


def _inside(start: tuple[int, int], spans: list[tuple[int, int, int, int]]) -> bool:
    line, col = start
    return any((l1, c1) <= (line, col) < (l2, c2) for l1, c1, l2, c2 in spans)


def _skip_annotations(tree: Path, db: Path, class_fields_evaluated: bool) -> int:
    from cosmic_ray.work_db import WorkDB, use_db  # noqa: PLC0415
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # noqa: PLC0415

    spans: dict[str, list[tuple[int, int, int, int]]] = {}
    skipped = 0
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        for item in list(work_db.work_items):
            for mutation in item.mutations:
                path = str(mutation.module_path)
                if path not in spans:
                    spans[path] = _annotation_spans((tree / path).read_text(), class_fields_evaluated)
                if _inside(tuple(mutation.start_pos), spans[path]):
                    result = WorkResult(
                        worker_outcome=WorkerOutcome.SKIPPED, output="annotation: never evaluated at run time"
                    )
                    work_db.set_result(item.job_id, result)
                    skipped += 1
                    break
    return skipped


def _sample(db: Path, keep: int, seed: int) -> None:
    """Keep a seeded random sample of the pending mutants; mark the others as not sampled."""
    import random  # noqa: PLC0415

    from cosmic_ray.work_db import WorkDB, use_db  # noqa: PLC0415
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # noqa: PLC0415

    with use_db(str(db), WorkDB.Mode.open) as work_db:
        pending = sorted(item.job_id for item in work_db.pending_work_items)
        chosen = set(random.Random(seed).sample(pending, min(keep, len(pending))))  # noqa: S311 - a sample
        for job_id in pending:
            if job_id not in chosen:
                work_db.set_result(job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not sampled"))


def _equivalents() -> list[dict[str, Any]]:
    path = HERE / "equivalent.toml"
    return tomllib.loads(path.read_text()).get("mutant", []) if path.exists() else []


def _report(name: str, tree: Path, db: Path, seconds: float) -> dict[str, Any]:
    rows = sqlite3.connect(db).execute(
        "select s.module_path, s.operator_name, s.occurrence, s.start_pos_row, s.start_pos_col, r.worker_outcome, "
        "r.test_outcome, r.diff, s.definition_name "
        "from mutation_specs s left join work_results r on r.job_id = s.job_id"
    )
    equivalents = _equivalents()
    counts: dict[str, Any] = {
        "total": 0,
        "killed": 0,
        "survived": 0,
        "equivalent": 0,
        "annotation": 0,
        "not_judged": 0,
        "incompetent": 0,
        "pending": 0,
    }
    survivors: list[str] = []
    spans: dict[str, list[tuple[int, int, int, int]]] = {}
    fields_evaluated = TARGETS[name]["pydantic_fields"]
    for module, operator, occurrence, line, col, worker_outcome, test_outcome, diff, function in rows:
        # cosmic-ray stores its enums by name (NORMAL, SURVIVED, ...).
        worker, test = (worker_outcome or "").lower() or None, (test_outcome or "").lower() or None
        counts["total"] += 1
        if module not in spans:
            spans[module] = _annotation_spans((tree / module).read_text(), fields_evaluated)
        if _inside((line, col), spans[module]):
            # An annotation never evaluated (also when an older run executed it).
            counts["annotation"] += 1
        elif worker == "skipped":
            counts["not_judged"] += 1  # not in the sample, or not reached before the run was stopped
        elif worker is None:
            counts["pending"] += 1
        elif test == "survived":
            text = (tree / module).read_text().splitlines()[line - 1].strip()
            if any(
                fnmatch.fnmatch(module, e["module"])
                and fnmatch.fnmatch(operator, e["operator"])
                and (fnmatch.fnmatchcase(text, e["line"]) if e.get("glob") else e["line"] == text)
                and e.get("function", function) == function
                for e in equivalents
            ):
                counts["equivalent"] += 1
            else:
                counts["survived"] += 1
                survivors.append(f"--- {module}:{line} {operator} #{occurrence}\n{diff}")
        elif test == "incompetent":
            counts["incompetent"] += 1
        else:
            counts["killed"] += 1
    judged = counts["killed"] + counts["survived"]
    counts["score"] = round(100 * counts["killed"] / judged, 2) if judged else 0.0
    counts["seconds"] = round(seconds)
    (tree.parent / "survivors.txt").write_text("\n".join(survivors))
    (tree.parent / "summary.json").write_text(json.dumps(counts, indent=2))
    return counts


def _forget_survivors(db: Path) -> int:
    """Judge the survivors of an earlier run again (``--rejudge``, the tests may have changed); mutants the
    earlier run never reached (it was stopped) stay out, so the judged set is still the same random sample."""
    from cosmic_ray.work_db import WorkDB, use_db  # noqa: PLC0415
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # noqa: PLC0415

    with use_db(str(db), WorkDB.Mode.open) as work_db:
        for item in list(work_db.pending_work_items):
            work_db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not reached"))
    with sqlite3.connect(db) as conn:
        count = conn.execute("delete from work_results where test_outcome = 'SURVIVED'").rowcount
    return int(count)


def run_target(
    name: str, source: Path, out: Path, python: str, *, sample: int = 0, seed: int = 17, rejudge: bool = False
) -> dict[str, Any]:
    """Mutate one folder in a fresh copy of the tree; ``rejudge`` keeps the session and retries its survivors."""
    spec = TARGETS[name]
    work = out / name
    tree = work / "tree"
    db = work / "session.sqlite"
    if rejudge and db.exists():
        # The session's mutants are positions in the sources its tree was copied from: keep those
        # sources, take the current tests (a test that fails on the kept sources is left out).
        shutil.rmtree(tree / "tests")
        shutil.copytree(source / "tests", tree / "tests", ignore=COPY_IGNORE, symlinks=True)
    else:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(source, tree, ignore=COPY_IGNORE, symlinks=True)
    tests = [t for t in spec["tests"] if (tree / t).exists()]
    sock = str(work / "server.sock")
    config = work / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(spec['modules'])}\n"
        f"timeout = {TIMEOUT + 20}\n"
        "excluded-modules = []\n"
        f'test-command = "{python} {Path(__file__).resolve()} client {sock}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    started = time.monotonic()
    if rejudge and db.exists():
        print(f"[mutation] {name}: {_forget_survivors(db)} survivors to judge again", flush=True)
        skipped = 0
    else:
        subprocess.run([python, "-m", "cosmic_ray.cli", "init", str(config), str(db)], cwd=tree, check=True)
        skipped = _skip_annotations(tree, db, spec["pydantic_fields"])
        if sample:
            _sample(db, sample, seed)
    server = subprocess.Popen(
        [python, str(Path(__file__).resolve()), "serve", sock, *spec["modules"], "--", *tests],
        cwd=tree,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    if not any("ready" in line for line in server.stdout):
        server.wait()
        raise SystemExit(f"[mutation] {name}: the test server did not start (the unmutated tests must pass)")
    try:
        subprocess.run([python, "-m", "cosmic_ray.cli", "exec", str(config), str(db)], cwd=tree, check=True)
    finally:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(sock)
                conn.sendall(b"stop\n")
        except OSError:
            pass
        server.wait(timeout=30)
    counts = _report(name, tree, db, time.monotonic() - started)
    counts["annotation_skipped"] = skipped
    counts["sampled"] = sample or None
    (work / "summary.json").write_text(json.dumps(counts, indent=2))
    return counts


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        split = argv.index("--")
        serve(argv[1], argv[2:split], argv[split + 1 :])
        return 0
    if argv[:1] == ["client"]:
        return client(argv[1])
    if argv[:1] == ["report"]:
        # Recount an existing session: python mutation/runner.py report <out> <target> [seconds]
        work = Path(argv[1]) / argv[2]
        seconds = float(argv[3]) if len(argv) > 3 else 0.0
        print(json.dumps(_report(argv[2], work / "tree", work / "session.sqlite", seconds), indent=2))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--source", type=Path, default=HERE.parent)
    parser.add_argument("--out", type=Path, default=HERE.parent / "build" / "mutation")
    parser.add_argument("--sample", type=int, default=0, help="mutants per folder to run (0: all)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--rejudge", action="store_true", help="keep the last session, run its survivors (and pending) again"
    )
    args = parser.parse_args(argv)
    python = sys.executable
    args.out.mkdir(parents=True, exist_ok=True)
    if args.jobs > 1 and len(args.targets) > 1:
        # One process per folder, each in its own tree.
        procs = [
            subprocess.Popen(
                [
                    python,
                    __file__,
                    *("--targets", t, "--jobs", "1", "--source", str(args.source), "--out", str(args.out)),
                    *("--sample", str(args.sample), "--seed", str(args.seed)),
                    *(["--rejudge"] if args.rejudge else []),
                ]
            )
            for t in args.targets
        ]
        codes = [p.wait() for p in procs]
        results = {t: json.loads((args.out / t / "summary.json").read_text()) for t in args.targets}
    else:
        codes = [0]
        results = {
            t: run_target(
                t,
                args.source.resolve(),
                args.out.resolve(),
                python,
                sample=args.sample,
                seed=args.seed,
                rejudge=args.rejudge,
            )
            for t in args.targets
        }
    for name, counts in results.items():
        print(
            f"[mutation] {name}: {counts['score']}% killed ({counts['killed']} killed, {counts['survived']} survived, "
            f"{counts['equivalent']} equivalent, {counts['annotation']} in annotations, "
            f"{counts['not_judged']} not judged, {counts['incompetent']} incompetent, "
            f"{counts['total']} mutants) in {counts['seconds']} s; survivors: {args.out / name / 'survivors.txt'}"
        )
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
