"""Translations: every language has every key and placeholder; strings.json is en.json."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from custom_components.iot_hub.errors import ErrorKey

COMPONENT = Path(__file__).parent.parent / "custom_components" / "iot_hub"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _load(name: str) -> dict[str, Any]:
    return json.loads((COMPONENT / name).read_text(encoding="utf-8"))


def _leaves(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    leaves: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            leaves |= _leaves(value, f"{prefix}{key}.")
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def test_strings_json_is_the_english_translation() -> None:
    """HA core tooling reads strings.json; custom integrations load translations/en.json."""
    assert _load("strings.json") == _load("translations/en.json")


@pytest.mark.parametrize("language", ["es"])
def test_language_has_every_key_and_placeholder(language: str) -> None:
    """A missing key shows a raw key in the UI; a missing placeholder loses information."""
    english = _leaves(_load("translations/en.json"))
    other = _leaves(_load(f"translations/{language}.json"))
    assert other.keys() == english.keys()
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(other[key])) == set(PLACEHOLDER.findall(text)), key


def test_every_action_and_exception_is_translated() -> None:
    """services.yaml fields and the exception keys the code raises all have English text."""
    english = _load("translations/en.json")
    services = yaml.safe_load((COMPONENT / "services.yaml").read_text(encoding="utf-8"))
    for service, spec in services.items():
        assert english["services"][service]["fields"].keys() == spec["fields"].keys()
    # Every refusal is an ErrorKey, and every ErrorKey is a translation key (no stale ones).
    assert {key.value for key in ErrorKey} == english["exceptions"].keys()


def test_quality_scale_exemptions_are_explained() -> None:
    """An exempt or todo rule without a comment is invalid (HA's own rule)."""
    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text(encoding="utf-8"))
    for rule, status in rules["rules"].items():
        if isinstance(status, dict):
            assert status.get("comment"), rule
        else:
            assert status == "done", rule
