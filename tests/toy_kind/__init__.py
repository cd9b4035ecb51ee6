"""A toy kind, defined outside the integration to prove the seam: one package, one Kind.

A "counter" device sends bare JSON numbers; a session counts and sums them. Its apps connect
with ``?toy=<device name>`` and an HA token and get every number. It is registered the way a
real kind is (one more entry in ``kinds.KINDS``) and uses only the integration's public
contract (``kind.py``, ``descriptions.py``, ``errors.py``, ``sessions``): nothing outside this
package is changed for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from custom_components.iot_hub.kind import Kind, KindContext, Route

from .entities import ENTITIES
from .handler import ToyHandler, wire_error
from .measure import ToyMeasure, logbook_summary

KEY: Final = "toy"
QUERY_TOY: Final = "toy"


def route(query: Mapping[str, str]) -> Route | None:
    """``?toy=<name>``: an app watching the toy of that name (devices use their token)."""
    if (name := query.get(QUERY_TOY)) is None:
        return None

    def named(device: KindContext) -> bool:
        return device.name.casefold() == name.casefold()

    return Route(kind=KEY, devices=False, chooses=named)


TOY: Final = Kind(
    key=KEY,
    model="Toy counter",
    create=ToyHandler,
    load_measure=ToyMeasure.from_dict,
    entities=ENTITIES,
    route=route,
    wire_error=wire_error,
    logbook_summary=logbook_summary,
)
