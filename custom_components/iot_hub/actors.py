"""Who did it: HA contexts become session actors; session errors become translated ones."""

from __future__ import annotations

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN, Actor
from .session_model import ActorRef
from .sessions import SessionError


async def async_actor_from_context(hass: HomeAssistant, context: Context) -> ActorRef:
    """A person in the UI (a context with a user), else an automation or script."""
    if context.user_id and (user := await hass.auth.async_get_user(context.user_id)):
        return ActorRef(Actor.USER, user.id, user.name)
    return ActorRef(Actor.AUTOMATION)


def translated(err: SessionError) -> ServiceValidationError:
    """The ``SessionError`` as the translated error HA shows to the user."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.key,
        translation_placeholders={"device": err.device_name},
    )
