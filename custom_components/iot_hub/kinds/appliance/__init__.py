"""MQTT appliances (seed 003): claimed, configured and switched manually or on a schedule.

Work in progress (issue 8): so far only the pure codec (``codec.py``) lives here; the kind is
registered in ``kinds/__init__.py`` once its handler, transports and entities land.
"""
