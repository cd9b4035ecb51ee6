"""Load benchmarks of iot_hub against a real Home Assistant started in-process.

``python -m benchmarks.ovens`` drives simulated ovens through HA's HTTP server and compares
what iot_hub achieves with two baselines measured in the same run: bare Home Assistant state
writes, and a plain aiohttp WebSocket server receiving the same load; ``python -m
benchmarks.chargers`` does the same for EV chargers. What both share is in ``benchmarks.common``.
``python -m benchmarks.appliances`` measures MQTT appliances (seed 003) against a raw aiomqtt
subscriber and HA's own MQTT entities, with publishers in a separate process
(``benchmarks.mqtt_publishers``); ``python -m benchmarks.streams`` the fan-out of seed 004's
live stream against a raw aiohttp broadcast, with its clients in a separate process
(``benchmarks.stream_clients``). Helper processes are driven by ``benchmarks.child``.
"""
