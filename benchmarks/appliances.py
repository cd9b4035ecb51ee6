"""How many appliance MQTT messages per second become Home Assistant states, and how fast.

``python -m benchmarks.appliances [--load 20x10 --load 200x10] [--seconds S] [--runs 3]``
starts a real Home Assistant in this process (``benchmarks.home_assistant``) with HA's own
MQTT integration connected to the broker at 127.0.0.1:1883, iot_hub with N claimed
appliances (seed 003), and the same N appliances configured as HA MQTT entities in YAML.
For each load (N appliances x R messages/s each, for S seconds), every path below gets the
same messages, one path after the other, from publishers in a separate process
(``benchmarks.mqtt_publishers``); each message changes ``parametros`` (``temp``, ``watts``).
Measured, for each path:

* ``raw aiomqtt``: an aiomqtt subscriber on HA's event loop that decodes each message's JSON
  and hands it on; the floor of any MQTT-to-Python path (no entity, no state);
* ``iot_hub (dedicated)``: iot_hub's appliance path on its own broker connection (the hub
  option ``mqtt_transport: dedicated``): message -> checks -> codec -> entities -> states;
* ``iot_hub (HA MQTT)``: the same on Home Assistant's MQTT integration (the default option);
* ``HA mqtt entities``: what a user would write in YAML to get what iot_hub gives, through
  HA's MQTT integration: a sensor per value (``value_template``), a binary sensor of
  ``estado`` and a switch whose state is ``estado`` (the four entities iot_hub gives such an
  appliance);
* ``HA mqtt sensor+attrs``: the lightest HA MQTT configuration: one sensor of ``temp`` with
  ``parametros`` as its ``json_attributes``.

Every subscriber subscribes at QoS 1, as iot_hub does, and speaks MQTT 5 (HA's default, and
iot_hub's dedicated client's), so all get the same delivery and flow control from the broker.

A message counts as delivered once both its values are in states (for raw aiomqtt: once
decoded). Latency is from the publisher's stamp (taken in its own process just before the
publish) to that moment, and also from the time the message was *due* by the schedule, so a
late publisher cannot hide a slow path. Both processes read ``CLOCK_REALTIME``. CPU is HA's
process (all its threads; not the broker's, not the publishers') and its event-loop thread,
from "go" until the last message arrived; in a second table, the window's garbage
collections (how many of each generation, their total and longest pause, pause per message)
and HA's peak RSS at its end, with how much the window raised it. The CPU every other process
of the machine used meanwhile is shown too: on a shared machine a figure taken while something
else competed for the CPU says so. Figures are medians over ``--runs`` runs; each run measures
every path once, in turn, and ratios against raw aiomqtt are taken within a run before the
median. ``--path KEY`` measures one path alone, e.g. to profile it: ``py-spy record
--nonblocking -p <pid>`` while its phase runs.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator, Sequence
import contextlib
from dataclasses import asdict, dataclass, field
import json
import math
import os
from pathlib import Path
import platform
import sys
import tempfile
import time
from types import MappingProxyType
from typing import Any, Final, Protocol
import uuid

import aiomqtt
from homeassistant import const as ha_const
from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryDataWithId,
)
from homeassistant.const import (
    CONF_DISCOVERY,
    CONF_PORT,
    CONF_PROTOCOL,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
)
from homeassistant.core import (
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import entity_registry as er

from custom_components.iot_hub.capacity import unique_id
from custom_components.iot_hub.const import (
    CONF_KIND,
    CONF_MQTT_ID,
    CONF_TRANSPORT,
    DOMAIN,
    SUBENTRY_DEVICE,
    TRANSPORT_MQTT,
)
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kinds.appliance.const import (
    CONF_CONFIGURACION,
    CONF_LEGACY_ID,
    CONF_SERIAL,
    KIND,
)
from custom_components.iot_hub.transport.limits import INBOUND_RATE
from custom_components.iot_hub.transport.mqtt.settings import (
    CONF_MQTT_HOST,
    CONF_MQTT_PORT,
    CONF_MQTT_PREFIX,
    CONF_MQTT_TRANSPORT,
    TRANSPORT_DEDICATED,
    TRANSPORT_HOME_ASSISTANT,
)

from .child import Child
from .common import (
    GcWatch,
    median,
    median_ratio,
    ms,
    peak_rss_kib,
    peak_rss_line,
    percentile,
    ratio,
    run,
    thread_cpu_seconds,
    us,
)
from .home_assistant import EVERY_READING, running_home_assistant_with
from .mqtt_publishers import WARM_SEQ, Plan, serial_of, value_seq

HOST: Final = "127.0.0.1"
PORT: Final = 1883
DEFAULT_LOADS: Final = ((20, 10.0), (200, 10.0))
DEFAULT_SECONDS: Final = 10.0
DEFAULT_RUNS: Final = 3
QUICK_LOAD: Final = (3, 5.0)
QUICK_SECONDS: Final = 1.0
# A message's temp is its number / 10: keep it a plausible temperature (and watts a power).
MAX_MESSAGES_PER_DEVICE: Final = 20_000
MAX_DEVICES: Final = 1000
READY_TIMEOUT: Final = 30.0  # publisher connected; entities and subscriptions in place
WARM_RETRY: Final = 0.5  # seconds between two warm-up rounds (HA subscribes after a delay)
# After the last publish: a path that fell behind catches up while it delivers; a message not
# delivered once nothing arrived for this long is lost (the broker drops what a slow subscriber
# does not take: ``max_queued_messages``).
SETTLE_IDLE: Final = 3.0
SETTLE_MAX: Final = 120.0
TARGET_SHARE_OF_RAW: Final = 0.70  # issue 8: iot_hub >= 70 % of raw aiomqtt's throughput
# Within this share, two throughputs are the same (both paths took all of the load).
SAME_THROUGHPUT: Final = 0.99

RAW_KEY: Final = "raw_aiomqtt"
HUB_KEYS: Final = ("hub_dedicated", "hub_ha_mqtt")
HA_KEYS: Final = ("ha_entities", "ha_sensor_attrs")
PATH_ORDER: Final = (RAW_KEY, *HUB_KEYS, *HA_KEYS)
RAW_PROTOCOLS: Final = {"5": aiomqtt.ProtocolVersion.V5, "3": aiomqtt.ProtocolVersion.V311}

# The values a message carries: (parametros key, offset of value_seq).
TEMP: Final = ("temp", 0.0)
WATTS: Final = ("watts", 1000.0)


@dataclass(frozen=True, slots=True)
class Load:
    """N appliances, each publishing R messages per second."""

    devices: int
    rate: float

    @property
    def offered(self) -> float:
        """Messages per second offered."""
        return self.devices * self.rate

    def __str__(self) -> str:
        """``20x10``."""
        return f"{self.devices}x{self.rate:g}"


def parse_load(text: str) -> Load:
    """``NxR`` (appliances x messages/s each) as a ``Load``; ``ValueError`` when it is not."""
    devices, sep, rate = text.lower().partition("x")
    if not sep:
        raise ValueError(f"a load is NxR (appliances x messages/s), not {text!r}")
    load = Load(int(devices), float(rate))
    if not 1 <= load.devices <= MAX_DEVICES or not 0 < load.rate <= 1000:
        raise ValueError(f"{text}: N must be 1..{MAX_DEVICES} and R in (0, 1000]")
    return load


# -- arrivals ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Arrivals:
    """When each message became complete on the HA side (wall clock, ns).

    A message is complete once ``parts`` distinct values of it arrived (temp and watts for
    entity paths; the decoded message for raw aiomqtt).
    """

    devices: int
    per_device: int
    parts: int
    counts: list[bytearray] = field(init=False)
    done_ns: list[list[int]] = field(init=False)
    completed: int = 0
    unmatched: int = 0
    expected: float = math.inf
    all_done: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        """Preallocate the tables."""
        self.counts = [bytearray(self.per_device) for _ in range(self.devices)]
        self.done_ns = [[0] * self.per_device for _ in range(self.devices)]

    def part(self, device: int, seq: int) -> None:
        """One value of message ``seq`` of ``device`` is in (HA loop)."""
        if not 0 <= seq < self.per_device:
            if seq != WARM_SEQ:
                self.unmatched += 1
            return
        row = self.counts[device]
        count = row[seq] + 1
        if count > self.parts:
            return  # a duplicate (a QoS 1 redelivery): counted once
        row[seq] = count
        if count == self.parts:
            self.done_ns[device][seq] = time.time_ns()
            self.completed += 1
            if self.completed >= self.expected:
                self.all_done.set()

    def expect(self, count: int) -> None:
        """No more than ``count`` messages were published."""
        self.expected = count
        if self.completed >= count:
            self.all_done.set()


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine used so far (Linux; NaN elsewhere).

    Set against HA's own CPU, it shows what else ran during a phase: the broker, the
    publishers, and whatever else shares the machine.
    """
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return math.nan
    ticks = [int(value) for value in fields[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- one path ------------------------------------------------------------------------------------


class BenchPath(Protocol):
    """One way from the broker to HA (or to a plain callback)."""

    name: str
    key: str
    parts: int

    async def async_prepare(self, prefix: str) -> None:
        """Get ready to receive on ``<prefix>/<serial>/state``."""

    def warmed(self) -> bool:
        """Whether a warm-up message of every device got through (entities exist)."""

    def install(self, arrivals: Arrivals) -> Callable[[], None]:
        """Hand deliveries to ``arrivals`` from now on; returns the undo."""

    async def async_release(self) -> None:
        """Stop receiving."""


Extract = Callable[[State], int | None]


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds (``TimeoutError`` after ``READY_TIMEOUT``)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not in {READY_TIMEOUT:g} s: {what}")
        await asyncio.sleep(0.05)


def state_seq(offset: float) -> Extract:
    """The message number a numeric state came from."""

    def extract(state: State) -> int | None:
        try:
            return value_seq(float(state.state), offset)
        except ValueError:
            return None  # unknown / unavailable

    return extract


def attribute_seq(name: str, offset: float) -> Extract:
    """The message number a numeric attribute came from."""

    def extract(state: State) -> int | None:
        value = state.attributes.get(name)
        return value_seq(value, offset) if isinstance(value, int | float) else None

    return extract


class EntityPath:
    """A path that ends in entity states: deliveries are read from ``state_changed``."""

    name = ""
    key = ""
    parts = 2  # temp and watts

    def __init__(self, hass: HomeAssistant, devices: int) -> None:
        """Watch nothing until ``watch`` is filled."""
        self.hass = hass
        self.devices = devices
        # entity id -> (device index, what its state says of the message numbers)
        self.watch: dict[str, tuple[int, tuple[Extract, ...]]] = {}

    async def async_prepare(self, prefix: str) -> None:
        """Nothing: HA's entities listen on fixed topics."""

    async def async_release(self) -> None:
        """Nothing to stop."""

    def _find(self) -> bool:
        """Fill ``watch`` (entity ids may exist only once a device spoke)."""
        return bool(self.watch)

    def warmed(self) -> bool:
        """Every watched value shows the warm-up message."""
        if not self._find():
            return False
        for entity_id, (_, extracts) in self.watch.items():
            state = self.hass.states.get(entity_id)
            if state is None or any(extract(state) != WARM_SEQ for extract in extracts):
                return False
        return True

    def install(self, arrivals: Arrivals) -> Callable[[], None]:
        """Count each value once, when it first shows in a state."""
        watch = self.watch
        last: dict[tuple[str, int], int] = {}

        @callback
        def on_state_changed(event: Event[EventStateChangedData]) -> None:
            entity_id = event.data["entity_id"]
            if (spec := watch.get(entity_id)) is None or (new := event.data["new_state"]) is None:
                return
            device, extracts = spec
            for index, extract in enumerate(extracts):
                seq = extract(new)
                if seq is None or last.get((entity_id, index)) == seq:
                    continue
                last[entity_id, index] = seq
                arrivals.part(device, seq)

        return self.hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)


class HubPath(EntityPath):
    """iot_hub's appliances on one transport (switched in the hub's options)."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Hub], transport: str) -> None:
        """The hub of ``entry``, on ``transport`` while measured."""
        super().__init__(hass, len(entry.subentries))
        self.entry = entry
        self.transport = transport
        dedicated = transport == TRANSPORT_DEDICATED
        self.name = "iot_hub (dedicated)" if dedicated else "iot_hub (HA MQTT)"
        self.key = "hub_dedicated" if dedicated else "hub_ha_mqtt"

    async def async_prepare(self, prefix: str) -> None:
        """Move the hub to this transport and prefix (the hub reconnects, no reload)."""
        options = {
            **self.entry.options,
            CONF_MQTT_TRANSPORT: self.transport,
            CONF_MQTT_PREFIX: prefix,
        }
        self.hass.config_entries.async_update_entry(self.entry, options=options)
        await self.hass.async_block_till_done()
        mqtt_side = self.entry.runtime_data.mqtt
        await until(
            lambda: mqtt_side.devices is not None and mqtt_side.devices.connected,
            f"iot_hub connected on {self.transport}",
        )
        self.watch = {}

    def _find(self) -> bool:
        if self.watch:
            return True
        registry = er.async_get(self.hass)
        watch: dict[str, tuple[int, tuple[Extract, ...]]] = {}
        for subentry_id, subentry in self.entry.subentries.items():
            index = int(subentry.data[CONF_LEGACY_ID]) - 1
            for key, offset in (TEMP, WATTS):
                entity_id = registry.async_get_entity_id(
                    "sensor", DOMAIN, unique_id(subentry_id, f"parametro_{key}")
                )
                if entity_id is None:
                    return False  # created when the device's first message shows the key
                watch[entity_id] = (index, (state_seq(offset),))
        self.watch = watch
        return True


class HaEntitiesPath(EntityPath):
    """HA's MQTT entities of YAML (``ha_mqtt_yaml``): fixed topics under their prefix."""

    def __init__(self, hass: HomeAssistant, devices: int, *, attributes: bool) -> None:
        """The four-entity configuration, or the one sensor with attributes."""
        super().__init__(hass, devices)
        self.attributes = attributes
        self.name = "HA mqtt sensor+attrs" if attributes else "HA mqtt entities"
        self.key = "ha_sensor_attrs" if attributes else "ha_entities"

    def _find(self) -> bool:
        if self.watch:
            return True
        registry = er.async_get(self.hass)
        watch: dict[str, tuple[int, tuple[Extract, ...]]] = {}
        for index in range(self.devices):
            serial = serial_of(index)
            wanted: dict[str, tuple[Extract, ...]]
            if self.attributes:
                wanted = {f"bench_attrs_{serial}": (state_seq(TEMP[1]), attribute_seq(*WATTS))}
            else:
                wanted = {
                    f"bench_{serial}_temp": (state_seq(TEMP[1]),),
                    f"bench_{serial}_watts": (state_seq(WATTS[1]),),
                }
            for unique, extracts in wanted.items():
                entity_id = registry.async_get_entity_id("sensor", mqtt.DOMAIN, unique)
                if entity_id is None:
                    return False
                watch[entity_id] = (index, extracts)
        self.watch = watch
        return True


class RawPath:
    """An aiomqtt subscriber on HA's loop that decodes each message and hands it on.

    It speaks MQTT 5 by default, as iot_hub's dedicated client and HA's MQTT (its default)
    do, so the ratios compare what each path adds, not the protocol's cost (``--raw-mqtt 3``
    measures the MQTT 3.1.1 floor instead).
    """

    name = "raw aiomqtt"
    key = "raw_aiomqtt"
    parts = 1

    def __init__(self, devices: int, protocol: aiomqtt.ProtocolVersion) -> None:
        """Not connected until ``async_prepare``."""
        self._protocol = protocol
        self._index = {serial_of(i): i for i in range(devices)}
        self._devices = devices
        self._warm: set[int] = set()
        self._sink: Arrivals | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None

    async def async_prepare(self, prefix: str) -> None:
        """Connect and subscribe to ``<prefix>/+/state`` (QoS 1, as iot_hub does)."""
        self._warm.clear()
        stack = self._stack = contextlib.AsyncExitStack()
        client = await stack.enter_async_context(
            aiomqtt.Client(
                HOST,
                PORT,
                identifier=f"bench-raw-{uuid.uuid4().hex[:8]}",
                protocol=self._protocol,
            )
        )
        await client.subscribe(f"{prefix}/+/state", qos=1)
        self._task = asyncio.create_task(self._receive(client))

    async def _receive(self, client: aiomqtt.Client) -> None:
        index = self._index
        async for message in client.messages:
            data = json.loads(message.payload)
            device = index[data["serial_number"]]
            seq = value_seq(data["parametros"][TEMP[0]], TEMP[1])
            if (sink := self._sink) is not None:
                sink.part(device, seq)
            elif seq == WARM_SEQ:
                self._warm.add(device)

    def warmed(self) -> bool:
        """A warm-up message of every device arrived."""
        return len(self._warm) == self._devices

    def install(self, arrivals: Arrivals) -> Callable[[], None]:
        """Hand decoded messages to ``arrivals``."""
        self._sink = arrivals

        def undo() -> None:
            self._sink = None

        return undo

    async def async_release(self) -> None:
        """Disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


# -- one phase -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    """One path under one load, once."""

    path: str
    key: str
    devices: int
    rate: float
    sent: int
    delivered: int
    seconds: float
    p50: float  # seconds, publisher's stamp -> delivered
    p99: float
    p99_due: float  # seconds, when the schedule said the message was due -> delivered
    max_due: float
    publisher_lag_p99: float  # seconds the publisher published after the due time
    cpu_process: float  # seconds, HA's process, within the window
    cpu_loop: float  # seconds, HA's event-loop thread
    cpu_others: float  # seconds, every other process of the machine (broker, publishers...)
    gc_count: int
    gc_total: float
    gc_longest: float
    gc_by_generation: tuple[int, int, int]  # collections of generation 0, 1 and 2
    peak_rss_kib: int  # HA's process, at the window's end
    peak_rss_growth_kib: int  # how much the window raised it
    states_changed: int
    states_reported: int
    unmatched: int

    @property
    def rate_delivered(self) -> float:
        """Messages per second delivered."""
        return self.delivered / self.seconds if self.seconds > 0 else math.nan

    @property
    def cpu_per_message(self) -> float:
        """HA-process CPU seconds per delivered message."""
        return self.cpu_process / self.delivered if self.delivered else math.nan

    @property
    def loop_per_message(self) -> float:
        """Event-loop CPU seconds per delivered message."""
        return self.cpu_loop / self.delivered if self.delivered else math.nan

    @property
    def loop_busy(self) -> float:
        """Share of one core the event loop used during the window."""
        return self.cpu_loop / self.seconds if self.seconds > 0 else math.nan

    @property
    def others_busy(self) -> float:
        """Cores the machine's other processes used during the window."""
        return self.cpu_others / self.seconds if self.seconds > 0 else math.nan

    @property
    def gc_per_message(self) -> float:
        """Seconds of garbage collection per delivered message."""
        return self.gc_total / self.delivered if self.delivered else math.nan

    @property
    def writes_per_message(self) -> float:
        """State writes (changed or reported unchanged) per delivered message."""
        writes = self.states_changed + self.states_reported
        return writes / self.delivered if self.delivered else math.nan


async def _warm_up(path: BenchPath, publishers: Child) -> None:
    """Publish warm-up rounds until every device's warm-up shows on the path."""
    async with asyncio.timeout(READY_TIMEOUT):
        while True:
            await publishers.ask("warm", "warmed")
            deadline = time.monotonic() + WARM_RETRY
            while time.monotonic() < deadline:
                if path.warmed():
                    return
                await asyncio.sleep(0.02)


async def _settle(arrivals: Arrivals) -> None:
    """Until every message arrived, or none arrived for ``SETTLE_IDLE`` seconds."""
    deadline = time.monotonic() + SETTLE_MAX
    seen = -1
    while seen != arrivals.completed and time.monotonic() < deadline:
        seen = arrivals.completed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_IDLE):
                await arrivals.all_done.wait()
                return


@contextlib.contextmanager
def _count_writes(hass: HomeAssistant) -> Iterator[list[int]]:
    """Count state writes: ``[changed, reported unchanged]``."""
    counts = [0, 0]

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        counts[0] += 1

    @callback
    def reported_filter(data: EventStateReportedData) -> bool:
        counts[1] += 1
        return False  # counted here; no listener needs to run

    @callback
    def never(event: Event[EventStateReportedData]) -> None:
        pass

    undo = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, changed),
        hass.bus.async_listen(EVENT_STATE_REPORTED, never, event_filter=reported_filter),
    ]
    try:
        yield counts
    finally:
        for remove in undo:
            remove()


async def measure_phase(
    hass: HomeAssistant,
    path: BenchPath,
    load: Load,
    *,
    per_device: int,
    prefix: str,
    qos: int,
    workdir: Path,
) -> Phase:
    """Publish ``load`` for ``per_device`` messages per device through ``path``."""
    plan = Plan(
        host=HOST,
        port=PORT,
        qos=qos,
        prefix=prefix,
        devices=load.devices,
        rate=load.rate,
        per_device=per_device,
        out=str(workdir / f"{path.key}-{uuid.uuid4().hex[:6]}.json"),
    )
    await path.async_prepare(prefix)
    try:
        async with Child.running(
            "benchmarks.mqtt_publishers", plan.to_json(), ready_within=READY_TIMEOUT
        ) as publishers:
            await _warm_up(path, publishers)
            # Let the warm-up's own work (new entities, registry writes) settle first.
            await hass.async_block_till_done()
            arrivals = Arrivals(load.devices, per_device, path.parts)
            uninstall = path.install(arrivals)
            gc_watch = GcWatch()
            rss_before = peak_rss_kib()
            try:
                with gc_watch.watching(), _count_writes(hass) as writes:
                    cpu_process = time.process_time()
                    cpu_loop = thread_cpu_seconds()
                    cpu_machine = machine_busy_seconds()
                    arrivals.expect(int(await publishers.ask("go", "done")))
                    await _settle(arrivals)
                    cpu_loop = thread_cpu_seconds() - cpu_loop
                    cpu_process = time.process_time() - cpu_process
                    cpu_machine = machine_busy_seconds() - cpu_machine
                rss_after = peak_rss_kib()
                rss = (rss_after, rss_after - rss_before)
            finally:
                uninstall()
            written = list(writes)
    finally:
        await path.async_release()
    stamps = json.loads(plan_out(plan).read_text(encoding="utf-8"))
    plan_out(plan).unlink()
    return _phase(
        path,
        load,
        plan,
        arrivals=arrivals,
        stamps=stamps,
        writes=written,
        gc_watch=gc_watch,
        cpu_process=cpu_process,
        cpu_loop=cpu_loop,
        cpu_machine=cpu_machine,
        rss=rss,
    )


def plan_out(plan: Plan) -> Path:
    """Where the publishers wrote their stamps."""
    return Path(plan.out)


def _phase(
    path: BenchPath,
    load: Load,
    plan: Plan,
    *,
    arrivals: Arrivals,
    stamps: dict[str, Any],
    writes: list[int],
    gc_watch: GcWatch,
    cpu_process: float,
    cpu_loop: float,
    cpu_machine: float,
    rss: tuple[int, int],
) -> Phase:
    start_ns: int = stamps["start_ns"]
    sent_ns: list[list[int]] = stamps["sent_ns"]
    latencies: list[float] = []
    due_latencies: list[float] = []
    lags: list[float] = []
    sent = 0
    first_due = math.inf
    last_done = 0
    for device in range(load.devices):
        done_row = arrivals.done_ns[device]
        for seq, stamp in enumerate(sent_ns[device]):
            if not stamp:
                continue
            sent += 1
            due = start_ns + plan.offset_ns(device, seq)
            first_due = min(first_due, due)
            lags.append((stamp - due) / 1e9)
            if done := done_row[seq]:
                latencies.append((done - stamp) / 1e9)
                due_latencies.append((done - due) / 1e9)
                last_done = max(last_done, done)
    latencies.sort()
    due_latencies.sort()
    lags.sort()
    planned = plan.per_device / load.rate
    span = (last_done - first_due) / 1e9 if last_done else 0.0
    return Phase(
        path=path.name,
        key=path.key,
        devices=load.devices,
        rate=load.rate,
        sent=sent,
        delivered=len(latencies),
        seconds=max(planned, span),
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        p99_due=percentile(due_latencies, 0.99),
        max_due=due_latencies[-1] if due_latencies else math.nan,
        publisher_lag_p99=percentile(lags, 0.99),
        cpu_process=cpu_process,
        cpu_loop=cpu_loop,
        # The machine's and the process's CPU are counted by different clocks (ticks in
        # /proc/stat, rusage): on an idle machine their difference can dip just below zero.
        cpu_others=max(cpu_machine - cpu_process, 0.0),
        gc_count=gc_watch.count,
        gc_total=gc_watch.total,
        gc_longest=gc_watch.longest,
        gc_by_generation=(
            gc_watch.by_generation[0],
            gc_watch.by_generation[1],
            gc_watch.by_generation[2],
        ),
        peak_rss_kib=rss[0],
        peak_rss_growth_kib=rss[1],
        states_changed=writes[0],
        states_reported=writes[1],
        unmatched=arrivals.unmatched,
    )


# -- Home Assistant with the hub, HA's MQTT and its YAML entities --------------------------------


def hub_entry(devices: int, prefix: str) -> ConfigEntry:
    """The hub entry with ``devices`` claimed appliances (as a claim leaves them)."""
    width = max(2, len(str(devices)))
    return ConfigEntry(
        domain=DOMAIN,
        title="IoT Hub",
        data={},
        options={
            CONF_MQTT_TRANSPORT: TRANSPORT_DEDICATED,
            CONF_MQTT_HOST: HOST,
            CONF_MQTT_PORT: PORT,
            CONF_MQTT_PREFIX: prefix,
        },
        source=SOURCE_USER,
        unique_id=DOMAIN,
        version=1,
        minor_version=1,
        discovery_keys=MappingProxyType({}),
        subentries_data=[
            ConfigSubentryDataWithId(
                data=MappingProxyType(
                    {
                        CONF_KIND: KIND,
                        CONF_TRANSPORT: TRANSPORT_MQTT,
                        CONF_MQTT_ID: serial_of(i),
                        CONF_SERIAL: serial_of(i),
                        CONF_LEGACY_ID: i + 1,
                        CONF_CONFIGURACION: {"modo": "manual", "encendido": True},
                        **EVERY_READING,
                    }
                ),
                subentry_id=f"benchappliance{i:0{width}d}",
                subentry_type=SUBENTRY_DEVICE,
                title=f"Bench appliance {i:0{width}d}",
                unique_id=serial_of(i),
            )
            for i in range(devices)
        ],
    )


def ha_mqtt_yaml(devices: int, entities_prefix: str, attrs_prefix: str) -> str:
    """``configuration.yaml``: each appliance as HA MQTT entities, twice over.

    Under ``entities_prefix``: what iot_hub gives, in HA's own terms (a sensor per value, a
    binary sensor of ``estado``, a switch whose state is ``estado``). Under ``attrs_prefix``:
    one sensor of ``temp`` with ``parametros`` as attributes. All at QoS 1, as iot_hub
    subscribes (HA's default, QoS 0, would spare them the broker's flow control for QoS 1).
    JSON is YAML.
    """
    sensors: list[dict[str, Any]] = []
    binary_sensors: list[dict[str, Any]] = []
    switches: list[dict[str, Any]] = []
    for index in range(devices):
        serial = serial_of(index)
        topic = f"{entities_prefix}/{serial}/state"
        for key, device_class, unit in (
            ("temp", "temperature", "°C"),
            ("watts", "power", "W"),
        ):
            sensors.append(
                {
                    "name": f"{serial} {key}",
                    "unique_id": f"bench_{serial}_{key}",
                    "state_topic": topic,
                    "value_template": f"{{{{ value_json.parametros.{key} }}}}",
                    "qos": 1,
                    "device_class": device_class,
                    "unit_of_measurement": unit,
                    "state_class": "measurement",
                }
            )
        binary_sensors.append(
            {
                "name": f"{serial} estado",
                "unique_id": f"bench_{serial}_estado",
                "state_topic": topic,
                "value_template": "{{ value_json.estado }}",
                "qos": 1,
                "payload_on": "activo",
                "payload_off": "inactivo",
                "device_class": "power",
            }
        )
        switches.append(
            {
                "name": f"{serial} encendido",
                "unique_id": f"bench_{serial}_encendido",
                "state_topic": topic,
                "value_template": "{{ value_json.estado }}",
                "qos": 1,
                "state_on": "activo",
                "state_off": "inactivo",
                "command_topic": f"{entities_prefix}/{serial}/command",
            }
        )
        attrs_topic = f"{attrs_prefix}/{serial}/state"
        sensors.append(
            {
                "name": f"{serial} attrs",
                "unique_id": f"bench_attrs_{serial}",
                "state_topic": attrs_topic,
                "value_template": "{{ value_json.parametros.temp }}",
                "json_attributes_topic": attrs_topic,
                "json_attributes_template": "{{ value_json.parametros | tojson }}",
                "qos": 1,
                "device_class": "temperature",
                "unit_of_measurement": "°C",
                "state_class": "measurement",
            }
        )
    return json.dumps(
        {"mqtt": {"sensor": sensors, "binary_sensor": binary_sensors, "switch": switches}}
    )


async def _setup_ha_mqtt(hass: HomeAssistant, config: dict[str, Any]) -> None:
    """HA's MQTT integration on the local broker (discovery, birth and will off)."""
    entry = ConfigEntry(
        domain=mqtt.DOMAIN,
        title=HOST,
        data={mqtt.CONF_BROKER: HOST, CONF_PORT: PORT, CONF_PROTOCOL: "5"},
        options={CONF_DISCOVERY: False, mqtt.CONF_BIRTH_MESSAGE: {}, mqtt.CONF_WILL_MESSAGE: {}},
        source=SOURCE_USER,
        unique_id=None,
        version=1,
        minor_version=2,
        discovery_keys=MappingProxyType({}),
        subentries_data=None,
    )
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    if entry.state is not ConfigEntryState.LOADED:
        raise RuntimeError(f"HA's MQTT did not load: {entry.state} {entry.reason}")
    await until(lambda: mqtt.is_connected(hass), "HA's MQTT connected")


async def _clear_retained(base: str) -> None:
    """Remove the retained messages the hub left under ``base`` (its configurations)."""
    topics: set[str] = set()
    async with aiomqtt.Client(HOST, PORT, identifier=f"bench-clean-{uuid.uuid4().hex[:8]}") as c:
        await c.subscribe(f"{base}/#")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for message in c.messages:
                    if message.retain:
                        topics.add(message.topic.value)
        for topic in sorted(topics):
            await c.publish(topic, b"", qos=1, retain=True)


# -- the benchmark -------------------------------------------------------------------------------


@dataclass(slots=True)
class LoadReport:
    """Every run of every path under one load."""

    load: Load
    seconds: float
    runs: list[dict[str, Phase]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """The paths measured, in the report's order."""
        return [key for key in PATH_ORDER if self.runs and key in self.runs[0]]

    def name(self, key: str) -> str:
        """How the report names a path."""
        return self.runs[0][key].path

    def median(self, key: str, value: Callable[[Phase], float]) -> float:
        """The median over runs of one figure of one path."""
        return median(value(phases[key]) for phases in self.runs if key in phases)

    def median_ratio(self, key: str, base: str, value: Callable[[Phase], float]) -> float:
        """The median over runs of ``value(key) / value(base)`` within each run."""
        return median_ratio(
            (value(phases[key]), value(phases[base]))
            for phases in self.runs
            if key in phases and base in phases
        )


async def measure_load(
    load: Load,
    *,
    seconds: float,
    runs: int,
    qos: int,
    raw_mqtt: str,
    keys: Sequence[str],
    progress: Callable[[str], None],
) -> LoadReport:
    """Start HA for ``load`` and measure the paths ``keys`` ``runs`` times."""
    base = f"iot_hub_bench/{uuid.uuid4().hex[:10]}"
    entities_prefix, attrs_prefix = f"{base}/ha_entities", f"{base}/ha_sensor_attrs"
    per_device = math.floor(load.rate * seconds)
    report = LoadReport(load, seconds)
    entry = hub_entry(load.devices, f"{base}/hub_setup")
    async with running_home_assistant_with(
        entry,
        configuration_yaml=ha_mqtt_yaml(load.devices, entities_prefix, attrs_prefix),
        before_hub=_setup_ha_mqtt,
    ) as (hass, _token):
        paths: list[BenchPath] = [
            RawPath(load.devices, RAW_PROTOCOLS[raw_mqtt]),
            HubPath(hass, entry, TRANSPORT_DEDICATED),
            HubPath(hass, entry, TRANSPORT_HOME_ASSISTANT),
            HaEntitiesPath(hass, load.devices, attributes=False),
            HaEntitiesPath(hass, load.devices, attributes=True),
        ]
        paths = [path for path in paths if path.key in keys]
        prefixes = {
            "ha_entities": entities_prefix,
            "ha_sensor_attrs": attrs_prefix,
        }
        try:
            with tempfile.TemporaryDirectory(prefix="iot_hub_bench_pub_") as tmp:
                for number in range(1, runs + 1):
                    results: dict[str, Phase] = {}
                    for path in paths:
                        progress(f"load {load}: run {number}/{runs}: {path.name}...")
                        prefix = prefixes.get(path.key, f"{base}/{path.key}")
                        results[path.key] = await measure_phase(
                            hass,
                            path,
                            load,
                            per_device=per_device,
                            prefix=prefix,
                            qos=qos,
                            workdir=Path(tmp),
                        )
                    report.runs.append(results)
        finally:
            await _clear_retained(base)
    return report


# -- the report ----------------------------------------------------------------------------------


def _header() -> str:
    return (
        f"{'path':<22} {'sent':>7} {'lost':>6} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p99 due':>8} {'CPU µs':>7} {'loop µs':>7} {'loop%':>6} {'wr/msg':>6} "
        f"{'pub lag':>7} {'others':>6}"
    )


def _row(report: LoadReport, key: str) -> str:
    def med(value: Callable[[Phase], float]) -> float:
        return report.median(key, value)

    return (
        f"{report.name(key):<22} {med(lambda p: p.sent):>7.0f} "
        f"{med(lambda p: p.sent - p.delivered):>6.0f} "
        f"{med(lambda p: p.rate_delivered):>8.1f} {ms(med(lambda p: p.p50)):>8} "
        f"{ms(med(lambda p: p.p99)):>8} {ms(med(lambda p: p.p99_due)):>8} "
        f"{us(med(lambda p: p.cpu_per_message)):>7} {us(med(lambda p: p.loop_per_message)):>7} "
        f"{med(lambda p: p.loop_busy) * 100:>5.1f}% "
        f"{med(lambda p: p.writes_per_message):>6.2f} {ms(med(lambda p: p.publisher_lag_p99)):>7} "
        f"{med(lambda p: p.others_busy):>6.2f}"
    )


def _generation(generation: int) -> Callable[[Phase], float]:
    """Collections of one generation in a phase's window."""

    def count(phase: Phase) -> float:
        return phase.gc_by_generation[generation]

    return count


def _memory_header() -> str:
    return (
        f"{'path (GC, memory)':<22} {'GC g0/g1/g2':>14} {'GC ms':>8} {'GC max':>8} "
        f"{'GC µs':>7} {'RSS MiB':>8} {'+window':>8}"
    )


def _memory_row(report: LoadReport, key: str) -> str:
    def med(value: Callable[[Phase], float]) -> float:
        return report.median(key, value)

    generations = "/".join(f"{med(_generation(g)):g}" for g in range(3))
    return (
        f"{report.name(key):<22} {generations:>14} {ms(med(lambda p: p.gc_total)):>8} "
        f"{ms(med(lambda p: p.gc_longest)):>8} {us(med(lambda p: p.gc_per_message)):>7} "
        f"{med(lambda p: p.peak_rss_kib) / 1024:>8.1f} "
        f"{med(lambda p: p.peak_rss_growth_kib) / 1024:>8.1f}"
    )


def _share(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.0f}%"


def _rate(phase: Phase) -> float:
    return phase.rate_delivered


def _cpu(phase: Phase) -> float:
    return phase.cpu_per_message


def _capacity(phase: Phase) -> float:
    """Messages per second one core could take at this loop CPU per message."""
    return 1 / phase.loop_per_message if phase.loop_per_message > 0 else math.nan


def _p99(phase: Phase) -> float:
    return phase.p99


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def _verdicts(report: LoadReport) -> list[str]:
    """iot_hub against raw aiomqtt and HA's MQTT, and the issue's targets."""
    keys = report.keys
    lines = []
    for hub in (key for key in HUB_KEYS if key in keys):
        line = [f"  {report.name(hub)}:"]
        throughput = report.median_ratio(hub, RAW_KEY, _rate)
        capacity = report.median_ratio(hub, RAW_KEY, _capacity)
        if RAW_KEY in keys:
            line.append(
                f"throughput {_share(throughput)} of raw aiomqtt's, loop capacity"
                f" {_share(capacity)} of raw's, CPU per message"
                f" {ratio(report.median_ratio(hub, RAW_KEY, _cpu), 1.0)} raw,"
                f" p99 {ratio(report.median_ratio(hub, RAW_KEY, _p99), 1.0)} raw"
            )
        lines.append(" ".join(line))
        ahead = []
        for ha in (key for key in HA_KEYS if key in keys):
            rate, cpu = report.median_ratio(hub, ha, _rate), report.median_ratio(hub, ha, _cpu)
            ahead.append(rate >= SAME_THROUGHPUT and cpu <= 1.0)
            lines.append(
                f"    vs {report.name(ha)}: throughput {ratio(rate, 1.0)}, CPU per message"
                f" {ratio(cpu, 1.0)}, p99 {ratio(report.median_ratio(hub, ha, _p99), 1.0)}"
            )
        targets = []
        if RAW_KEY in keys:
            targets.append(
                f">= {TARGET_SHARE_OF_RAW:.0%} of raw aiomqtt: throughput"
                f" {_yes(throughput >= TARGET_SHARE_OF_RAW)}, loop capacity"
                f" {_yes(capacity >= TARGET_SHARE_OF_RAW)}"
            )
        if ahead:
            targets.append(f"ahead of HA's MQTT (throughput and CPU): {_yes(all(ahead))}")
        if targets:
            lines.append(f"    targets: {'; '.join(targets)}")
    return lines


LEGEND: Final = (
    "lost: published, never delivered (the broker drops what a slow subscriber leaves queued);",
    "msg/s: delivered per second; a message is delivered once both its values are states (raw",
    "aiomqtt: once decoded); p50/p99: publisher's stamp -> delivered; p99 due: the message's due",
    "time -> delivered; CPU µs: HA's process (all threads) per message; loop µs: its event-loop",
    "thread per message; loop%: that thread's share of one core; wr/msg: state writes per",
    "message (changed + unchanged); pub lag: p99 of how late the publisher stamped a message",
    "after its due time (ms; it shares the machine); others: cores the machine's other",
    "processes used meanwhile (the broker, the publishers, anything else running: above",
    "{cores} - 1, they competed with HA for the CPU); loop capacity: 1 / loop µs, the rate one",
    "core could take at that cost.",
    "GC g0/g1/g2: garbage collections of each generation in HA's process in the window; GC ms:",
    "their total pause; GC max: the longest (ms); GC µs: pause per message (part of the CPU);",
    "RSS MiB: HA's peak RSS at the window's end; +window: how much the window raised it (new",
    "peaks only: the paths measured first meet the heap's growth).",
)


def render(reports: Sequence[LoadReport], runs: int, qos: int) -> str:
    """The report: per load, a table of every path, then iot_hub against the baselines."""
    lines = [
        (
            f"iot_hub appliance benchmark (MQTT): Home Assistant {ha_const.__version__}, "
            f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
            f"broker {HOST}:{PORT}; publishers in a separate process; QoS {qos}; "
            f"medians of {runs} run{'s' if runs != 1 else ''}"
        ),
    ]
    for report in reports:
        load = report.load
        keys = report.keys
        lines += [
            "",
            (
                f"load {load.devices} appliances x {load.rate:g} msg/s x {report.seconds:g} s"
                f" = {load.offered:g} msg/s offered"
            ),
            _header(),
            "-" * len(_header()),
            *(_row(report, key) for key in keys),
            "",
            _memory_header(),
            "-" * len(_memory_header()),
            *(_memory_row(report, key) for key in keys),
            "",
            *_verdicts(report),
        ]
    lines += [
        "",
        *(line.replace("{cores}", str(os.cpu_count())) for line in LEGEND),
        "Ratios are taken within each run, then the median over runs.",
        "",
        peak_rss_line(),
    ]
    return "\n".join(lines)


def as_json(reports: Sequence[LoadReport], runs: int, qos: int) -> dict[str, Any]:
    """The report's figures as JSON: every run of every path, and the medians."""
    figures: dict[str, Callable[[Phase], float]] = {
        "rate": _rate,
        "lost": lambda p: p.sent - p.delivered,
        "p50": lambda p: p.p50,
        "p99": _p99,
        "p99_due": lambda p: p.p99_due,
        "cpu_per_message": _cpu,
        "loop_per_message": lambda p: p.loop_per_message,
        "loop_capacity": _capacity,
        "writes_per_message": lambda p: p.writes_per_message,
        "gc_per_message": lambda p: p.gc_per_message,
        "gc_total": lambda p: p.gc_total,
        "gc_longest": lambda p: p.gc_longest,
        **{f"gc_g{g}": _generation(g) for g in range(3)},
        "peak_rss_kib": lambda p: p.peak_rss_kib,
        "peak_rss_growth_kib": lambda p: p.peak_rss_growth_kib,
    }
    return {
        "home_assistant": ha_const.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "qos": qos,
        "runs": runs,
        "loads": [
            {
                "devices": report.load.devices,
                "rate": report.load.rate,
                "seconds": report.seconds,
                "medians": {
                    key: {name: report.median(key, value) for name, value in figures.items()}
                    for key in report.keys
                },
                "vs_raw": {
                    key: {
                        name: report.median_ratio(key, RAW_KEY, figures[name])
                        for name in ("rate", "loop_capacity", "cpu_per_message", "p99")
                    }
                    for key in report.keys
                },
                "runs": [{key: asdict(phase) for key, phase in run.items()} for run in report.runs],
            }
            for report in reports
        ],
    }


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.appliances``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.appliances",
        description=(
            "Benchmark iot_hub's MQTT appliance path against a raw aiomqtt subscriber and "
            "HA's own MQTT entities, on the broker at 127.0.0.1:1883."
        ),
    )
    parser.add_argument(
        "--load",
        action="append",
        type=parse_load,
        metavar="NxR",
        help="N appliances x R messages/s each; repeatable (default: 20x10 and 200x10)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help="length of each phase in seconds (default %(default)s)",
    )
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help="runs per load (default %(default)s)"
    )
    parser.add_argument(
        "--qos", type=int, choices=(0, 1), default=1, help="the publishers' QoS (default 1)"
    )
    parser.add_argument(
        "--raw-mqtt",
        choices=tuple(RAW_PROTOCOLS),
        default="5",
        help="MQTT version of the raw aiomqtt subscriber: 5 (default, as the others) or 3 (3.1.1)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=(
            f"CI smoke: {QUICK_LOAD[0]}x{QUICK_LOAD[1]:g} for {QUICK_SECONDS:g} s, one run "
            "(overrides --load, --seconds and --runs)"
        ),
    )
    parser.add_argument(
        "--path",
        action="append",
        choices=PATH_ORDER,
        dest="paths",
        help="measure only this path; repeatable (default: all; e.g. to profile one)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the figures as JSON to FILE"
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Measure every load and print the report.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        loads = [Load(*QUICK_LOAD)]
        seconds, runs = QUICK_SECONDS, 1
    else:
        loads = args.load or [Load(*load) for load in DEFAULT_LOADS]
        seconds, runs = args.seconds, args.runs
    if not 1 <= runs <= 15 or not 0 < seconds <= 600:
        parser.error("--runs must be 1..15 and --seconds in (0, 600]")
    for load in loads:
        if not 1 <= math.floor(load.rate * seconds) <= MAX_MESSAGES_PER_DEVICE:
            parser.error(f"{load} for {seconds:g} s: 1..{MAX_MESSAGES_PER_DEVICE} per appliance")
        if load.rate > INBOUND_RATE:
            print(
                f"note: iot_hub admits {INBOUND_RATE:g} messages/s per appliance; "
                "messages above that are dropped by design",
                file=sys.stderr,
            )

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    keys = args.paths or PATH_ORDER
    reports = [
        await measure_load(
            load,
            seconds=seconds,
            runs=runs,
            qos=args.qos,
            raw_mqtt=args.raw_mqtt,
            keys=keys,
            progress=progress,
        )
        for load in loads
    ]
    print(render(reports, runs, args.qos))
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(reports, runs, args.qos), indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.appliances``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
