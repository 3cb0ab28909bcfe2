"""Where the processes spend their time: ``py-spy record`` and a summary of its stacks.

py-spy samples each process ``PROFILE_HZ`` times a second without pausing it
(``--nonblocking``), keeping only the thread that holds the GIL (``--gil``): the Python
work, which is what one core per process bounds. (Without ``--gil`` the worker's event
loop shows up "active" in socket writes and ``call_soon_threadsafe`` while it waits for
the GIL held by Faust's consumer thread.) Native work that releases the GIL (zstd,
Parquet encoding, fsync, RocksDB) is not in it; fsync and Parquet writes still stall the
event loop. Samples in the selector's ``select`` are counted apart. The rest are
summarized: the share of samples by package (where the innermost frame is, and anywhere
on the stack below the event loop's callback) and the top functions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from app.demo.processes import PROJECT_ROOT

PROFILE_HZ = 100
OUR_PACKAGES = ("app", "agents", "models", "tables", "sinks", "ingest")
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*):\d+\)$")
LOOP_CALLBACK = "Handle._run (asyncio)"


def package(path: str) -> str:
    """The package a frame's file belongs to (``aiokafka``, ``asyncio``, ``agents``, ...)."""
    for marker in ("site-packages/", f"{PROJECT_ROOT}/"):
        path = path.split(marker, 1)[-1]
    path = re.split(r"/lib/python3\.\d+/", path)[-1]
    return path.split("/", 1)[0].removesuffix(".py")


def stack_frames(stack: str) -> list[tuple[str, str]]:
    """``("function (package)", package)`` of a collapsed stack, from below the event
    loop's callback (the frames above it are the same in every sample)."""
    frames = []
    for frame in stack.split(";"):
        if match := FRAME.match(frame):
            where = package(match["path"])
            frames.append((f"{match['function']} ({where})", where))
    loop = [n for n, (name, _) in enumerate(frames) if name == LOOP_CALLBACK]
    return frames[loop[-1] + 1 :] if loop else frames


def summarize_profile(raw: str, seconds: float) -> dict[str, Any]:
    """py-spy's collapsed stacks (``--format raw``) -> shares of the busy samples."""
    idle, total = 0, 0
    self_package, anywhere, self_function, ours = (
        Counter[str](),
        Counter[str](),
        Counter[str](),
        Counter[str](),
    )
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack_frames(stack) if count_text.isdigit() else []
        if not frames:
            continue
        count = int(count_text)
        if frames[-1][1] == "selectors":
            idle += count
            continue
        total += count
        self_function[frames[-1][0]] += count
        self_package[frames[-1][1]] += count
        anywhere.update(dict.fromkeys({where for _, where in frames}, count))
        ours.update(dict.fromkeys({f for f, where in frames if where in OUR_PACKAGES}, count))

    def top(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)]

    if not total:
        return {"busy_samples": 0, "select_samples": idle}
    return {
        "busy_samples": total,
        "select_samples": idle,
        "busy_share_of_time": round(total / (seconds * PROFILE_HZ), 2),
        "self_pct_by_package": top(self_package, 10),
        "inclusive_pct_by_package": top(anywhere, 12),
        "top_self_functions_pct": top(self_function, 12),
        "top_inclusive_ours_pct": top(ours, 12),
    }


def profile(pids: dict[str, int], seconds: float, out: Path) -> dict[str, Any]:
    """``py-spy record`` of every pid at once, for ``seconds`` (blocks); raw stacks in ``out``."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return {"skipped": "py-spy not found"}
    out.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, pid in pids.items():
        args = [spy, "record", "--pid", str(pid), "--duration", f"{seconds:g}", "--nonblocking"]
        args += ["--gil", "--rate", str(PROFILE_HZ), "--function", "--format", "raw"]
        args += ["--output", str(out / f"{name}.txt")]
        running[name] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    result: dict[str, Any] = {"seconds": seconds}
    for name, process in running.items():
        try:
            _, err = process.communicate(None, seconds + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        path = out / f"{name}.txt"
        if process.returncode or not path.exists():
            result[name] = {"error": err.decode(errors="replace")[-300:]}
        else:
            result[name] = summarize_profile(path.read_text(), seconds)
    return result
