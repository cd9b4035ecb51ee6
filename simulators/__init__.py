"""Stand-ins for the devices and apps that talk to iot_hub, written from the legacy protocols.

``simulators.oven`` is an ESP32 smart oven and ``simulators.mobile_app`` its mobile app, both
speaking seed 000's protocol exactly as the original firmware and app did. They run from the
command line (``python -m simulators.oven --help``) and are importable, so the tests and the
benchmarks drive the integration with the same independent client a user would run.
"""
