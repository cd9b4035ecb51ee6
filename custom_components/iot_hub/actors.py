"""Who did it: an HA context (a person in the UI, or an automation) as a session actor."""

from __future__ import annotations

from homeassistant.core import Context, HomeAssistant

from .const import Actor
from .sessions import ActorRef


async def async_actor_from_context(hass: HomeAssistant, context: Context) -> ActorRef:
    """A person in the UI (a context with a user), else an automation or script."""
    if context.user_id and (user := await hass.auth.async_get_user(context.user_id)):
        return ActorRef(Actor.USER, user.id, user.name)
    return ActorRef(Actor.AUTOMATION)
