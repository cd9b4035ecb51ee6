"""Environment and wearable sensors (seeds 001 and 004): issue 9, under way.

Only the pure codec exists so far (``codec.py``); the kind is not registered yet.
"""
