"""MQTT transports: HA's own MQTT integration or a dedicated aiomqtt connection (``bus.py``)."""
