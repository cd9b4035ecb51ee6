"""The one error path: every key translated, worded on the wire by every kind that meets it."""

from __future__ import annotations

import json

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.iot_hub import kinds
from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.errors import (
    SESSION_KEYS,
    TRANSPORT_KEYS,
    ErrorKey,
    IotHubError,
    translate_errors,
)
from custom_components.iot_hub.kind import Kind, Source


def _keys_met(kind: Kind) -> frozenset[ErrorKey]:
    """What a kind's peers can be told: transport notices, session refusals, its own."""
    return TRANSPORT_KEYS | (SESSION_KEYS if kind.has_sessions else frozenset()) | kind.errors


@pytest.mark.parametrize("kind", kinds.registered(), ids=lambda kind: kind.key)
@pytest.mark.parametrize("source", list(Source))
def test_every_key_a_kind_meets_has_a_wire_message(kind: Kind, source: Source) -> None:
    """No KeyError on the wire: each key a kind can meet becomes a frame of its protocol."""
    for key in _keys_met(kind):
        frame = json.loads(kind.wire_error(source, key))
        assert isinstance(frame, dict), key
        text = frame.get("error", frame.get("message"))
        assert isinstance(text, str), (kind.key, key)
        assert text, (kind.key, key)


def test_the_oven_and_the_charger_speak_their_own_shapes() -> None:
    """The oven's peers get ``{"error"}``; a charger ``{type, message, code}``; a dashboard
    ``{type, message}`` (seed 002 shows no code to dashboards)."""
    oven = kinds.kind_named("oven")
    charger = kinds.kind_named("charger")
    assert oven is not None and charger is not None
    for source in Source:
        assert json.loads(oven.wire_error(source, ErrorKey.RATE_LIMITED)).keys() == {"error"}
    assert json.loads(charger.wire_error(Source.DEVICE, ErrorKey.RATE_LIMITED)) == {
        "type": "error",
        "message": "rate limit exceeded",
        "code": "RATE_LIMITED",
    }
    assert json.loads(charger.wire_error(Source.CLIENT, ErrorKey.BINARY_FRAME)) == {
        "type": "error",
        "message": "binary frames are not supported; send text",
    }


async def test_translate_errors_turns_refusals_into_translated_errors() -> None:
    """An action's ``IotHubError`` becomes the translated error HA shows; others pass."""

    @translate_errors
    async def refuse(key: ErrorKey) -> None:
        raise IotHubError(key, "Oven")

    @translate_errors
    async def crash() -> None:
        raise RuntimeError("a bug, not a refusal")

    @translate_errors
    async def answer() -> int:
        return 42

    for key in ErrorKey:
        with pytest.raises(ServiceValidationError) as caught:
            await refuse(key)
        assert caught.value.translation_domain == DOMAIN
        assert caught.value.translation_key == key.value
        assert caught.value.translation_placeholders == {"device": "Oven"}
        assert isinstance(caught.value.__cause__, IotHubError)
    with pytest.raises(RuntimeError) as raw:
        await crash()
    assert not isinstance(raw.value, HomeAssistantError)
    assert await answer() == 42
