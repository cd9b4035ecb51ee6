"""Stand-ins for the devices and apps that talk to iot_hub, written from the legacy protocols.

``simulators.oven`` is an ESP32 smart oven and ``simulators.mobile_app`` its mobile app (seed
000); ``simulators.charger`` is an ESP32 EV charger and ``simulators.dashboard`` its dashboard
(seed 002); ``simulators.esphome_oven`` and ``simulators.appliance`` are ESP32s on MQTT that
publish exactly what the ESPHome configurations in ``simulators/esphome/`` publish (the
appliance also as the seed-003 firmware), and ``simulators.legacy_app`` is seed 003's app (REST
and SSE). Each speaks its seed's protocol exactly as the original firmware and apps did and
imports nothing of the integration. They run from the command line (``python -m
simulators.charger --help``) and are importable, so the tests, the demo and the benchmarks
drive the integration with the same independent clients a user would run.
"""
