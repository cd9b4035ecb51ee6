"""Keys and defaults of the appliance kind (seed 003): its subentry data and hub options."""

from __future__ import annotations

from typing import Final

KIND: Final = "appliance"

# Keys of an appliance's subentry data (the seed's names where it has them).
CONF_SERIAL: Final = "serial_number"
CONF_LEGACY_ID: Final = "legacy_id"  # the seed's integer ``id``, stable across restarts
CONF_TIPO: Final = "tipo"
CONF_MODELO: Final = "modelo"
CONF_DESCRIPCION: Final = "descripcion"
CONF_CONFIGURACION: Final = "configuracion"
CONF_SCHEDULE: Final = "schedule_entity"  # the HA schedule helper it follows in ``horario``

# Hub options.
CONF_LOG_SIZE: Final = "appliance_log_size"
DEFAULT_LOG_SIZE: Final = 10_000  # rows kept per device
MAX_LOG_SIZE: Final = 100_000
MAX_UNCLAIMED: Final = 256  # unknown serials remembered; more are refused (a flood of ids)
