"""What the codec tests share: strategies for any frame a peer could send, and an outcome helper.

Each codec's test module adds the objects and deep nestings that reach its own fields.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st

from custom_components.iot_hub.protocol import ProtocolError

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
NESTING = st.integers(min_value=1, max_value=20_000)  # past any recursion limit
PROPERTY_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def any_frame(
    json_objects: st.SearchStrategy[dict[str, Any]],
    deep: st.SearchStrategy[str],
    *extra: st.SearchStrategy[str],
) -> st.SearchStrategy[str]:
    """Any text, long text, any JSON, the codec's own objects (both encodings), deep nesting."""
    return st.one_of(
        st.text(),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=16_384),
        *extra,
        JSON_VALUES.map(json.dumps),
        json_objects.map(json.dumps),
        json_objects.map(lambda o: json.dumps(o, ensure_ascii=False)),
        deep,
    )


def outcome[T](decode: Callable[[str], T], frame: str) -> T | ProtocolError:
    """What ``decode`` makes of ``frame``: its message or its ``ProtocolError``.

    Any other exception propagates and fails the test.
    """
    try:
        return decode(frame)
    except ProtocolError as err:
        return err
