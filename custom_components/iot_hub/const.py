"""Constants shared by every iot_hub module: domain, keys, defaults, event names, close codes.

A kind's own constants live in its package (``kinds/<kind>/const.py``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DOMAIN: Final = "iot_hub"

SUBENTRY_DEVICE: Final = "device"

# Keys of a device subentry's data.
CONF_KIND: Final = "kind"
CONF_TOKEN_HASH: Final = "token_sha256"  # absent for MQTT devices (the broker authenticates)
CONF_TRANSPORT: Final = "transport"
CONF_MQTT_ID: Final = "mqtt_id"  # the <id> of the device's topics: <prefix>/<id>/state ...
# At most one recorded state per this many seconds per entity for what readings change
# (0: every reading); the recorder budget. Absent: the default.
CONF_RECORD_INTERVAL: Final = "record_interval"
DEFAULT_RECORD_INTERVAL: Final = 10
MAX_RECORD_INTERVAL: Final = 3600
TRANSPORT_WEBSOCKET: Final = "websocket"
TRANSPORT_MQTT: Final = "mqtt"

# Keys of the hub entry's options.
CONF_HISTORY_SIZE: Final = "history_size"
CONF_RESUME_GRACE: Final = "resume_grace_period"
DEFAULT_HISTORY_SIZE: Final = 1000
DEFAULT_RESUME_GRACE: Final = 300  # seconds an oven may take to return after an HA restart
# App/dashboard connections at once (devices hold one each anyway: a newer one replaces).
CONF_MAX_CONNECTIONS_PER_ADDRESS: Final = "max_connections_per_address"
CONF_MAX_CONNECTIONS_PER_USER: Final = "max_connections_per_user"
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: Final = 64
DEFAULT_MAX_CONNECTIONS_PER_USER: Final = 32

# MQTT devices with no last will are offline after this long without a message.
CONF_MQTT_SILENCE: Final = "mqtt_silence_timeout"
DEFAULT_MQTT_SILENCE: Final = 600

EVENT_SESSION_STARTED: Final = "iot_hub_session_started"
EVENT_SESSION_ENDED: Final = "iot_hub_session_ended"
EVENT_ANOMALY: Final = "iot_hub_anomaly"  # a sensor's anomaly detected or resolved

WS_PATH: Final = "/api/iot_hub/ws"


class SessionStatus(StrEnum):
    """Life of a measurement session."""

    ACTIVE = "active"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    EMERGENCY = "emergency"  # a charger's emergency stop ended it


class Actor(StrEnum):
    """Who started or stopped a session."""

    DEVICE = "device"
    APP = "app"
    USER = "user"
    AUTOMATION = "automation"
    CARD = "card"  # an authorised NFC card scanned at a charger
    SYSTEM = "system"


class CloseCode:
    """WebSocket close codes; 4xxx follow the legacy charger server (seed 002) and seed 004.

    A kind may add its own (the charger's 4004 lives in its codec).
    """

    MISSING_CREDENTIALS: Final = 4001
    INVALID_TOKEN: Final = 4003
    UNKNOWN_DEVICE: Final = 4005
    DEVICE_NOT_CHOSEN: Final = 4006
    REPLACED: Final = 4008
    BACKING_OFF: Final = 4029  # closed for flooding moments ago: wait (like HTTP 429)
    TOO_MANY_CONNECTIONS: Final = 4031  # the address or HA user holds too many app connections
    DEVICE_REMOVED: Final = 4010
    UNLOADING: Final = 1001  # going away
    POLICY: Final = 1008
    TOO_BIG: Final = 1009
    TRY_AGAIN_LATER: Final = 1013
