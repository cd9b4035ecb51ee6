"""A charger's cards: who is authorised, scans to HA's events and tags (bounded), card actors.

Cards are hub subentries of their own (``SUBENTRY_CARD``), read at every scan, so a card added
or removed applies at once. Every scan fires the bus event and the event entity; new unknown
uids register with HA's tag integration only within an hourly allowance per charger.
"""

from __future__ import annotations

import logging
from time import monotonic

from homeassistant.components import tag
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from ...const import DOMAIN, Actor
from ...errors import ErrorKey, IotHubError
from ...kind import KindHandler
from ...sessions import ActorRef
from .const import (
    CARD_SCAN,
    CONF_CARD_UID,
    CONF_NEW_TAGS_PER_HOUR,
    DEFAULT_NEW_TAGS_PER_HOUR,
    EVENT_AUTHORISED,
    EVENT_NFC_SCAN,
    EVENT_REJECTED,
    SUBENTRY_CARD,
)
from .tag_allowance import WINDOW_S, TagAllowance

_LOGGER = logging.getLogger(__name__)


def normalise_uid(uid: str) -> str:
    """Card uids compare without case or surrounding blanks (readers differ in both)."""
    return uid.strip().upper()


class ChargerCards(KindHandler):
    """What a charger does with cards; ``ChargerCore`` sets ``tags`` up."""

    tags: TagAllowance  # unknown uids it registered as HA tags this hour
    _tag_issue_at: float | None

    def cards(self) -> dict[str, str]:
        """Authorised cards: normalised uid -> the card user's name (hub subentries)."""
        return {
            normalise_uid(sub.data[CONF_CARD_UID]): sub.title
            for sub in self.device.subentries(SUBENTRY_CARD)
        }

    def card_actor(self, uid: str) -> ActorRef:
        """The actor for an authorised card; ``IotHubError`` for any other (default reject)."""
        if (user := self.cards().get(normalise_uid(uid))) is None:
            raise IotHubError(ErrorKey.CARD_REJECTED, self.device.name)
        return ActorRef(Actor.CARD, None, user, uid)

    def starter(self, actor: ActorRef, user_name: str | None, card: str | None) -> ActorRef:
        """Who an action's session is for: a card (checked like a scan), or a named user."""
        if card is not None:
            return self.card_actor(card)
        return super().starter(actor, user_name, card)

    @callback
    def card_scanned(self, uid: str) -> None:
        """Every scan, repeats included: an HA event, the event entity, HA's tag integration."""
        device = self.device
        user = self.cards().get(normalise_uid(uid))
        ha_device_id = device.ha_device_id()
        device.hass.bus.async_fire(
            EVENT_NFC_SCAN,
            {
                "device_id": ha_device_id,
                "device_name": device.name,
                "uid": uid,
                "authorised": user is not None,
                "user_name": user,
            },
        )
        device.fire_entity_event(
            CARD_SCAN,
            EVENT_AUTHORISED if user is not None else EVENT_REJECTED,
            {"uid": uid, "user_name": user},
        )
        if "tag" in device.hass.config.components and self._may_register_tag(uid, user):
            device.create_task(
                tag.async_scan_tag(device.hass, uid, ha_device_id), f"{DOMAIN} tag scan"
            )

    def _may_register_tag(self, uid: str, user: str | None) -> bool:
        """Cards and known tags always; new unknown uids within the hourly allowance."""
        hass = self.device.hass
        if user is not None or er.async_get(hass).async_get_entity_id("tag", "tag", uid):
            return True
        now = monotonic()
        limit = self.device.options.get(CONF_NEW_TAGS_PER_HOUR, DEFAULT_NEW_TAGS_PER_HOUR)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 <= limit < 1e9:
            limit = DEFAULT_NEW_TAGS_PER_HOUR  # not a count: stored by hand, say
        limit = int(limit)
        if self.tags.admit(uid, now, limit):
            return True
        if self._tag_issue_at is None or now - self._tag_issue_at >= WINDOW_S:
            self._tag_issue_at = now
            _LOGGER.warning(
                "%s scanned more than %d unknown cards within an hour: the rest are not"
                " registered as tags (their events still fire)",
                self.device.name,
                limit,
            )
            ir.async_create_issue(
                hass,
                DOMAIN,
                f"tag_flood_{self.device.id}",
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="tag_flood",
                translation_placeholders={"device": self.device.name, "limit": str(limit)},
            )
        return False
