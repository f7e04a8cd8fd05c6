"""Shared by the bench scripts: the machine, percentiles, process CPU, small tables, child processes.

Nothing here times anything by itself; each script decides what to measure.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def schema_tag() -> str:
    """The migration head, for naming cached bench databases.

    A database filled by older code (another schema) must never be re-used: its tables clash with
    the migrations that follow. Keying the cache on the head rebuilds it once the schema moves.
    """
    from bot.storage.database import script_heads

    return "_".join(sorted(script_heads())).lower()


def machine() -> str:
    """One line naming the machine the figures came from."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a whole process (every thread), from /proc (10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_rss(pid: int | str = "self") -> int:
    """Resident set size in bytes, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc status")


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share 0.99 for p99); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A plain, aligned text table (first column left, the rest right)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    if title:
        lines.append(title)
    for index, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


class Child:
    """A Python child process speaking JSON lines on stdout and taking commands on stdin."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name

    @classmethod
    async def start(cls, name: str, *args: str, env: dict[str, str] | None = None) -> Child:
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        process = await asyncio.create_subprocess_exec(
            PYTHON,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
            cwd=str(ROOT),
            env=environment,
            limit=2**24,
        )
        return cls(process, name)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def read(self, timeout: float = 120.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The next JSON line (other lines are passed through to our stderr)."""
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not line:
                code = await self.process.wait()
                raise RuntimeError(f"{self.name} exited with {code} before answering")
            text = line.decode().strip()
            if text.startswith("{"):
                return dict(json.loads(text))
            print(f"[{self.name}] {text}", file=sys.stderr)

    async def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((command + "\n").encode())
        await self.process.stdin.drain()

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        if self.process.returncode is not None:
            return
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            await asyncio.wait_for(self.process.wait(), timeout)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.process.kill()
            await self.process.wait()


def emit(payload: dict[str, Any]) -> None:
    """A child's answer to its parent: one JSON line on stdout."""
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


class CommandReader:
    """Lines from stdin, delivered into the event loop (a thread does the blocking read)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def start(self) -> None:
        import threading

        loop = asyncio.get_running_loop()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self.queue.put_nowait, line.strip())
            loop.call_soon_threadsafe(self.queue.put_nowait, "quit")

        threading.Thread(target=pump, daemon=True).start()

    async def next(self) -> str:
        return await self.queue.get()


def figure(name: str, result: str, target: str, met: bool | None, note: str = "") -> dict[str, Any]:
    """One line of bench/all.py's table; met None: a figure shown for context, no target."""
    return {"figure": name, "result": result, "target": target, "met": met, "note": note}


def save_figures(path: str | None, figures: Sequence[dict[str, Any]]) -> None:
    """Writes a script's figures for bench/all.py (--json PATH); nothing without a path."""
    if path:
        Path(path).write_text(json.dumps(list(figures), indent=1))


def figure_rows(figures: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """The figures as table rows: figure, result, target, met."""
    return [
        (f["figure"], f["result"], f["target"], "–" if f["met"] is None else verdict(bool(f["met"])))
        for f in figures
    ]
