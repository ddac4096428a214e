"""Run fuzz cases through `tinygen inspect` and `tinygen compile` in a worker process, and classify them.

The worker (`python -m tests.fuzz.runner WORKDIR`) reads one case number per line on stdin, runs it
in-process (the command line's own `main`, so exit codes are the CLI's), and answers with one JSON
line. The parent gives each case a deadline: a worker that misses it is killed and the case counted
as a hang; a worker that dies is a crash; both are restarted for the next case.

Outcomes:
  accepted       compile exit 0, the generated C builds (-std=c99 -Wall -Wextra -Werror -pedantic, the host
                 simulator's flags) and equals the golden reference bit for bit (when building);
  clean_error    exit 2 with an `error:` message and no traceback;
  internal       exit 3 (tinygen's "internal error");
  traceback      a Python traceback in the output, whatever the exit code;
  broken         accepted, but the C does not build or differs from the golden reference;
  disagree       inspect refuses what compile accepts, or inspect errs internally;
  other_exit     any other exit code;
  hang / crash   see above.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
GOOD = {"accepted", "clean_error"}


@dataclass
class Result:
    index: int
    outcome: str
    kinds: list[str]
    seed_name: str
    detail: str


def _cli(args: list[str]) -> tuple[int, str]:
    from tinygen.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


def _write_case(case, folder: Path) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.file_name}.onnx"
    if case.external_data:
        onnx.save_model(case.model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{case.file_name}.data", size_threshold=0)
    else:
        path.write_bytes(case.model.SerializeToString())
    calib = "random"
    if case.calib != "random":
        dims = [d.dim_value or 1 for d in case.model.graph.input[0].type.tensor_type.shape.dim] or [1]
        values = np.full((4, *dims[1:]), 3e38 if case.calib == "huge" else np.nan, np.float32)
        values[0] = 0.5
        calib = str(folder / "calib.npy")
        np.save(calib, values)
    return path, calib


def run_case(seed: int, index: int, work: Path, build: bool) -> dict[str, str]:
    """One case, in this process: the outcome and a one-line detail."""
    from tests.fuzz.mutator import make_case

    case = make_case(seed, index)
    folder = work / f"case{index}"
    shutil.rmtree(folder, ignore_errors=True)
    path, calib = _write_case(case, folder)
    out = folder / "out"
    inspect_code, inspect_text = _cli(["inspect", path])
    code, text = _cli(["-q", "compile", path, "-o", out, "--calib", calib])
    result = {"kinds": case.kinds, "seed_name": case.seed_name}
    first = next((line for line in text.splitlines() if line.startswith(("error", "internal"))), text[:200])
    if "Traceback" in text or "Traceback" in inspect_text:
        return {**result, "outcome": "traceback", "detail": text[-400:]}
    if code == 3 or inspect_code == 3:
        return {**result, "outcome": "internal", "detail": first if code == 3 else inspect_text[-300:]}
    if code == 2 and "error:" in text.lower():
        outcome = "clean_error"
    elif code == 0:
        outcome = "accepted"
        if inspect_code != 0:
            return {**result, "outcome": "disagree", "detail": inspect_text[-300:]}
    else:
        return {**result, "outcome": "other_exit", "detail": f"exit {code}: {first}"}
    if outcome == "accepted":
        if not (out / ".tinygen" / "manifest.json").exists():
            return {**result, "outcome": "broken", "detail": "exit 0 without an output folder"}
        if build:
            detail = _build_and_compare(out)
            if detail:
                return {**result, "outcome": "broken", "detail": detail}
    shutil.rmtree(folder, ignore_errors=True)
    return {**result, "outcome": outcome, "detail": first}


def _build_and_compare(out: Path) -> str | None:
    """None if the host C builds with the strict flags and equals the golden reference bit for bit."""
    import tinygen
    from tinygen.errors import TinygenError
    from tinygen.verification import first_mismatch

    model = tinygen.load(out)
    rng = np.random.default_rng(0)
    x = [rng.integers(-128, 128, size=(3, *io["onnx_shape"][1:]), dtype=np.int8) for io in model.inputs]
    try:
        host = model.run(x if len(x) > 1 else x[0], int8=True)
    except TinygenError as exc:
        return f"the generated C does not build or run: {str(exc)[:300]}"
    golden = model.golden(x if len(x) > 1 else x[0], int8=True)
    for k, (a, b) in enumerate(zip(_listed(golden), _listed(host), strict=True)):
        problem = first_mismatch(np.asarray(a), np.asarray(b), f"output {k}")
        if problem:
            return f"golden != host C: {problem}"
    return None


def _listed(value: object) -> list[np.ndarray]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    return [np.asarray(value)]


class Fuzzer:
    """The parent: one worker process at a time, restarted after a hang or a crash."""

    def __init__(self, seed: int, work: Path, build: bool = True, timeout: float = 60.0):
        self.seed, self.work, self.build, self.timeout = seed, Path(work), build, timeout
        self.process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        return subprocess.Popen([sys.executable, "-m", "tests.fuzz.runner", str(self.work), str(self.seed),
                                 "1" if self.build else "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env, start_new_session=True)

    def _stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def run(self, index: int) -> Result:
        from tests.fuzz.mutator import make_case

        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline() if ready else ""
        if line:
            answer = json.loads(line)
            return Result(index, answer["outcome"], answer["kinds"], answer["seed_name"], answer["detail"])
        case = make_case(self.seed, index)
        outcome = "hang" if not ready else "crash"
        detail = f"no answer within {self.timeout:.0f} s" if not ready else f"worker died ({self.process.poll()})"
        self._stop()
        return Result(index, outcome, case.kinds, case.seed_name, detail)

    def close(self) -> None:
        self._stop()


def run_cases(seed: int, count: int, work: Path, build: bool = True, timeout: float = 60.0,
              start: int = 0) -> list[Result]:
    fuzzer = Fuzzer(seed, work, build, timeout)
    try:
        return [fuzzer.run(index) for index in range(start, start + count)]
    finally:
        fuzzer.close()


def summary(results: list[Result]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    lines = [f"{len(results)} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    lines += [f"  case {r.index} ({r.seed_name}, {'+'.join(r.kinds)}): {r.outcome}: {r.detail}"
              for r in results if r.outcome not in GOOD]
    return "\n".join(lines)


def _serve(work: Path, seed: int, build: bool) -> None:
    os.environ.setdefault("TINYGEN_CACHE", str(work / "cache"))
    under_test = os.environ.get("TINYGEN_FUZZ_UNDER_TEST")  # another checkout's tinygen (the code before a fix)
    if under_test:
        sys.path.insert(0, under_test)
    import tinygen

    sys.stderr.write(f"fuzzing {tinygen.__file__}\n")
    for line in sys.stdin:
        index = int(line)
        start = time.perf_counter()
        try:
            answer = run_case(seed, index, work, build)
        except Exception as exc:  # the harness itself (writing the case), reported, not hidden
            answer = {"outcome": "traceback", "kinds": [], "seed_name": "?",
                      "detail": f"fuzz harness: {type(exc).__name__}: {exc}"}
        answer["seconds"] = f"{time.perf_counter() - start:.2f}"
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1")
