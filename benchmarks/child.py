"""The line protocol between a benchmark and the helper processes it starts (senders, clients).

A helper is ``python -m benchmarks.<module> ARG...`` (``ws_senders``, ``mqtt_publishers``,
``stream_clients``, ``reading_path --sender``): it runs in a process of its own so that
Home Assistant's garbage collections and busy loop cannot delay its stamps. It reads
commands on its standard input, one a line, and answers each with one line on its standard
output whose first word says what it is (``ready``, ``done 120``...); the end of its input
tells it to close its connections and exit, after a last answer if it has one.

Both sides are here: ``Child`` drives a helper from the benchmark's process; ``commands``,
``answer`` and ``plan_main`` are the helper's. Only the standard library is imported, so a
helper that imports this still starts fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
import contextlib
import dataclasses
import json
from pathlib import Path
import sys
from typing import TYPE_CHECKING, Any, Final, Self, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Helpers are run as ``-m benchmarks.<module>``: from the repository's root.
ROOT: Final = Path(__file__).resolve().parent.parent
STOP_TIMEOUT: Final = 30.0


class JsonPlan:
    """What a helper is to do, as its command line carries it: a dataclass as JSON."""

    __slots__ = ()

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The plan of the command line."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    def to_json(self) -> str:
        """The plan for the command line."""
        return json.dumps(dataclasses.asdict(cast("DataclassInstance", self)))


class ChildError(RuntimeError):
    """A helper answered something else than what was expected (or nothing: it ended)."""

    def __init__(self, module: str, line: str, expected: str) -> None:
        """``line``: what it said instead of ``expected``."""
        super().__init__(f"{module} said {line!r}, not {expected!r}")
        self.line = line


class Child:
    """One helper process, driven line by line (``start``, or ``running`` as a context)."""

    def __init__(self, module: str, process: asyncio.subprocess.Process) -> None:
        """Use ``start`` or ``running``."""
        self.module = module
        self._process = process

    @classmethod
    async def start(cls, module: str, *args: str) -> Child:
        """Start ``python -m module ARGS`` (its standard error is the benchmark's)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(module, process)

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, module: str, *args: str, ready: str = "ready", ready_within: float
    ) -> AsyncIterator[Child]:
        """Start the helper and wait ``ready_within`` s for its ``ready``; stopped after."""
        child = await cls.start(module, *args)
        try:
            async with asyncio.timeout(ready_within):
                await child.expect(ready)
            yield child
        finally:
            await child.stop()

    async def line(self) -> str:
        """The helper's next line ("" once it ended)."""
        assert self._process.stdout is not None
        return (await self._process.stdout.readline()).decode().strip()

    async def expect(self, word: str) -> str:
        """The next line, which must start with ``word``; returns the rest of it."""
        line = await self.line()
        if line != word and not line.startswith(f"{word} "):
            raise ChildError(self.module, line, word)
        return line.removeprefix(word).strip()

    async def send(self, line: str) -> None:
        """One command."""
        assert self._process.stdin is not None
        self._process.stdin.write(f"{line}\n".encode())
        await self._process.stdin.drain()

    async def ask(self, line: str, answer: str) -> str:
        """One command, then the rest of its answer (which starts with ``answer``)."""
        await self.send(line)
        return await self.expect(answer)

    async def stop(self, last: str | None = None, grace: float = STOP_TIMEOUT) -> str:
        """End its input and wait for it to exit (killed after ``grace`` s).

        With ``last``, its last answer is read first; returns the rest of it ("" when the
        helper had ended already, or had to be killed). Stopping twice does no harm.
        """
        process = self._process
        assert process.stdin is not None
        if not process.stdin.is_closing():
            process.stdin.close()
        rest = ""
        try:
            async with asyncio.timeout(grace):
                if last is not None and process.returncode is None:
                    rest = await self.expect(last)
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        return rest


# -- the helper's side ---------------------------------------------------------------------------


async def commands() -> AsyncIterator[str]:
    """The helper's commands: its standard input a line at a time, until its end."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        yield line


def answer(line: str) -> None:
    """One answer, on its way at once."""
    print(line, flush=True)


def plan_main(
    module: str,
    argv: Sequence[str] | None,
    serve: Callable[[str], Coroutine[Any, Any, int]],
) -> int:
    """A helper's entry point: ``python -m module PLAN_JSON`` runs ``serve(PLAN_JSON)``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m {module} PLAN_JSON", file=sys.stderr)
        return 2
    return asyncio.run(serve(args[0]))
