"""Prepares the development Home Assistant of scripts/develop through HA's own HTTP APIs.

Waits for HA to answer, finishes onboarding with the user ``dev`` (password ``dev``), keeps a
long-lived token of that user in ``config/.dev_token`` and, with ``--demo``, adds the IoT Hub
entry and a "Demo oven" device through the config-flow API, keeping the device token (shown
only once) in ``config/.demo_oven_token``. Every step is skipped when already done.

Arguments after ``--`` are a command to exec at the end with ``--token DEMO_OVEN_TOKEN``
appended (scripts/develop passes the oven simulator), so one PID covers both phases.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
import os
from pathlib import Path
import re
import sys
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

USERNAME: Final = "dev"
PASSWORD: Final = "dev"
DEMO_OVEN: Final = "Demo oven"
TOKEN_FILE: Final = ".demo_oven_token"  # in config/: the demo oven's device token
# Written by scripts/develop for the first start only (see confirm_http_config).
FIRST_START_HTTP: Final = "packages/first_start_http.yaml"
STARTUP_TIMEOUT: Final = 900  # seconds; the first start installs the frontend and friends
ONBOARDING_STEPS: Final = ("user", "core_config", "analytics", "integration")
# Config entries that onboarding adds on its own and that only work with the internet.
ONBOARDING_ONLINE_DOMAINS: Final = ("google_translate", "radio_browser")
# The demo oven's entities shown on the Overview, by entity key.
FAVORITE_KEYS: Final = ("temperature", "session_state", "start_session", "stop_session")


def say(message: str) -> None:
    """A line on the terminal, between Home Assistant's log lines."""
    sys.stderr.write(f"\033[1;32m[develop]\033[0m {message}\n")


class BootstrapError(Exception):
    """A step failed; the message says which and why."""


class Api:
    """Home Assistant's REST and WebSocket APIs at ``base``."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        """Talk to the HA at ``base`` (``http://host:port``)."""
        self._session = session
        self.base = base
        self.client_id = f"{base}/"  # IndieAuth client id: HA's own frontend
        self.token = ""
        self._sock: aiohttp.ClientWebSocketResponse | None = None
        self._last_id = 0

    async def call(
        self, method: str, path: str, json: Any = None, *, auth: bool = True, form: Any = None
    ) -> Any:
        """A JSON request; raises ``BootstrapError`` on any status but 200."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        async with self._session.request(
            method, self.base + path, json=json, data=form, headers=headers
        ) as resp:
            if resp.status != 200:
                raise BootstrapError(f"{method} {path}: {resp.status} {await resp.text()}")
            return await resp.json()

    async def ws(self, command: dict[str, Any]) -> Any:
        """One command over /api/websocket (opened on first use); returns its result."""
        if self._sock is None:
            self._sock = await self._session.ws_connect(f"{self.base}/api/websocket")
            await self._sock.receive_json()  # auth_required
            await self._sock.send_json({"type": "auth", "access_token": self.token})
            if (reply := await self._sock.receive_json())["type"] != "auth_ok":
                raise BootstrapError(f"websocket auth: {reply}")
        self._last_id += 1
        await self._sock.send_json({"id": self._last_id, **command})
        reply = await self._sock.receive_json()
        if not reply.get("success"):
            raise BootstrapError(f"{command['type']}: {reply.get('error')}")
        return reply["result"]

    async def wait_until_up(self) -> dict[str, bool]:
        """Onboarding's steps, once HA's frontend (which needs onboarding) is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while True:
            try:
                async with self._session.get(f"{self.base}/manifest.json") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise BootstrapError(f"{self.base} did not answer in time")
            await asyncio.sleep(0.5)
        async with self._session.get(f"{self.base}/api/onboarding") as resp:
            if resp.status == 404:  # onboarded: its views are gone
                return dict.fromkeys(ONBOARDING_STEPS, True)
            resp.raise_for_status()
            return {step["step"]: step["done"] for step in await resp.json()}

    async def use_tokens_for(self, code: str) -> None:
        """Exchange an authorization code for an access token and use it from now on."""
        form = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        tokens = await self.call("POST", "/auth/token", auth=False, form=form)
        self.token = tokens["access_token"]

    async def log_in(self) -> None:
        """Log in as the dev user through the login-flow API."""
        flow = await self.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
            auth=False,
        )
        result = await self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
            auth=False,
        )
        if result["type"] != "create_entry":
            raise BootstrapError(
                f"cannot log in as {USERNAME}/{PASSWORD} ({result.get('errors')}); "
                "this config/ was onboarded by hand: use scripts/develop --reset"
            )
        await self.use_tokens_for(result["result"])

    async def token_works(self, token: str) -> bool:
        """Whether ``token`` is accepted by the REST API."""
        async with self._session.get(
            f"{self.base}/api/", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            return resp.status == 200


def write_secret(path: Path, value: str) -> None:
    """A token file only its owner can read."""
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(f"{value}\n", encoding="utf-8")


async def onboard(api: Api, config: Path) -> None:
    """Finish onboarding as the dev user; leave ``api`` holding a long-lived token."""
    done = await api.wait_until_up()
    if not done["user"]:
        reply = await api.call(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": api.client_id,
                "name": "Developer",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
            auth=False,
        )
        await api.use_tokens_for(reply["auth_code"])
        say(f"Created the user {USERNAME} (password {PASSWORD})")
    token_file = config / ".dev_token"
    saved = token_file.read_text(encoding="utf-8").strip() if token_file.exists() else ""
    if saved and not await api.token_works(saved):
        saved = ""
    pending = [step for step in ONBOARDING_STEPS[1:] if not done[step]]
    if not api.token and (pending or not saved):
        await api.log_in()
    for step in pending:
        body = {"client_id": api.client_id, "redirect_uri": api.client_id}
        await api.call("POST", f"/api/onboarding/{step}", body if step == "integration" else None)
    if "core_config" in pending:
        # What the frontend's onboarding would set from the browser; internal_url is the base
        # of the firmware URL that a new device's token step shows.
        await api.ws({"type": "config/core/update", "internal_url": api.base, **machine_locale()})
        await remove_online_only_entries(api)
    if pending:
        say("Onboarding finished")
    if not saved:
        saved = await api.ws(
            {
                "type": "auth/long_lived_access_token",
                "client_name": f"scripts/develop {datetime.now():%Y-%m-%d %H:%M:%S}",
                "lifespan": 3650,
            }
        )
        write_secret(token_file, saved)
    api.token = saved
    await confirm_http_config(api, config)


def machine_locale() -> dict[str, str]:
    """This machine's time zone and (from its locale) country, when it says."""
    found: dict[str, str] = {}
    if (zone := Path("/etc/timezone")).exists():
        found["time_zone"] = zone.read_text(encoding="utf-8").strip()
    language = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    if match := re.match(r"[a-z]{2,3}_([A-Z]{2})\b", language):
        found["country"] = match[1]
    return found


async def confirm_http_config(api: Api, config: Path) -> None:
    """Keep the 127.0.0.1-only HTTP settings imported from YAML on the first start.

    Since 2026.10 HA keeps them in .storage/http; imported ones are on trial and revert (with a
    restart, to listening on every interface) unless confirmed within five minutes. Confirmed,
    the YAML is obsolete: remove it, or HA raises a repair issue about it on every start.
    """
    http = await api.ws({"type": "http/config"})
    if http["active_config_type"] == "pending":
        await api.ws({"type": "http/config/promote"})
        issue = {"domain": "http", "issue_id": "deprecated_yaml", "ignore": True}
        await api.ws({"type": "repairs/ignore_issue", **issue})
        say("Confirmed the HTTP settings (127.0.0.1 only)")
    elif http["stable"].get("server_host") != [urlsplit(api.base).hostname]:
        say(
            "\033[1;33mHome Assistant listens on every interface:\033[0m set 127.0.0.1 in "
            "Settings > System > Network, or start over with scripts/develop --reset"
        )
    (config / FIRST_START_HTTP).unlink(missing_ok=True)


async def remove_online_only_entries(api: Api) -> None:
    """Onboarding adds Radio Browser and Google Translate; offline they only log failures."""
    for _ in range(200):  # their flows install requirements first
        entries = [
            entry
            for domain in ONBOARDING_ONLINE_DOMAINS
            for entry in await api.call("GET", f"/api/config/config_entries/entry?domain={domain}")
        ]
        if len(entries) == len(ONBOARDING_ONLINE_DOMAINS):
            break
        await asyncio.sleep(0.1)
    for entry in entries:
        await api.call("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")


async def demo_oven_token(api: Api, config: Path) -> str:
    """Add the hub and the demo oven if missing; the oven's token (issued anew if lost)."""
    token_file = config / TOKEN_FILE
    if entries := await api.call("GET", "/api/config/config_entries/entry?domain=iot_hub"):
        entry_id = entries[0]["entry_id"]
        for _ in range(300):  # HA answers before it has set the entry up; devices get 503
            if entries[0]["state"] == "loaded":
                break
            await asyncio.sleep(0.1)
            entries = await api.call("GET", "/api/config/config_entries/entry?domain=iot_hub")
    else:
        flow = await api.call("POST", "/api/config/config_entries/flow", {"handler": "iot_hub"})
        created = await api.call("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {})
        entry_id = created["result"]["entry_id"]
        say("Added the IoT Hub integration")
    subentries = await api.ws({"type": "config_entries/subentries/list", "entry_id": entry_id})
    oven = next((sub for sub in subentries if sub["title"] == DEMO_OVEN), None)
    if oven is not None and token_file.exists():
        return token_file.read_text(encoding="utf-8").strip()
    flows = "/api/config/config_entries/subentries/flow"
    start: dict[str, Any] = {"handler": [entry_id, "device"]}
    if oven is None:
        answer: dict[str, Any] = {"name": DEMO_OVEN, "kind": "oven"}
    else:  # the token is shown only once: issue a new one
        start["subentry_id"] = oven["subentry_id"]
        answer = {"name": DEMO_OVEN, "rotate_token": True}
    flow = await api.call("POST", flows, start)
    step = await api.call("POST", f"{flows}/{flow['flow_id']}", answer)
    if step.get("step_id") != "token":
        raise BootstrapError(f"adding {DEMO_OVEN}: expected the token step, got {step}")
    token: str = step["description_placeholders"]["token"]
    await api.call("POST", f"{flows}/{flow['flow_id']}", {})
    write_secret(token_file, token)
    if oven is None:
        say(f"Added the device {DEMO_OVEN}")
        await show_on_dashboard(api)
    else:
        say(f"Issued a new token for {DEMO_OVEN} ({token_file.name} was missing)")
    return token


async def remove_demo_oven(api: Api, config: Path) -> bool:
    """Remove the demo oven of an earlier run (``--no-demo`` means a clean instance)."""
    removed = False
    for entry in await api.call("GET", "/api/config/config_entries/entry?domain=iot_hub"):
        entry_id = entry["entry_id"]
        for sub in await api.ws({"type": "config_entries/subentries/list", "entry_id": entry_id}):
            if sub["title"] == DEMO_OVEN:
                await api.ws(
                    {
                        "type": "config_entries/subentries/delete",
                        "entry_id": entry_id,
                        "subentry_id": sub["subentry_id"],
                    }
                )
                removed = True
    (config / TOKEN_FILE).unlink(missing_ok=True)
    return removed


async def demo_entities(api: Api) -> tuple[str, dict[str, str]]:
    """The demo oven's device id and its entities' ids by key (they appear right after it)."""
    for _ in range(100):
        devices = await api.ws({"type": "config/device_registry/list"})
        if device_id := next((d["id"] for d in devices if d["name"] == DEMO_OVEN), None):
            entities = await api.ws({"type": "config/entity_registry/list"})
            keys = {  # unique ids are "<device>_<key>"
                entity["unique_id"].split("_", 1)[1]: entity["entity_id"]
                for entity in entities
                if entity["device_id"] == device_id
            }
            if keys:
                return device_id, keys
        await asyncio.sleep(0.1)
    raise BootstrapError(f"{DEMO_OVEN} has no entities")


async def show_on_dashboard(api: Api) -> None:
    """Put the new demo oven in the Kitchen and its main entities in the Overview's favorites.

    The default dashboard (the "home" strategy) shows favorite entities and areas; a device
    in no area is listed only one click away, under Devices.
    """
    device_id, keys = await demo_entities(api)
    areas = await api.ws({"type": "config/area_registry/list"})
    if kitchen := next((area["area_id"] for area in areas if area["name"] == "Kitchen"), None):
        await api.ws(
            {"type": "config/device_registry/update", "device_id": device_id, "area_id": kitchen}
        )
    home = (await api.ws({"type": "frontend/get_system_data", "key": "home"}))["value"] or {}
    favorites: list[str] = home.get("favorite_entities", [])
    favorites += [keys[key] for key in FAVORITE_KEYS if key in keys and keys[key] not in favorites]
    await api.ws(
        {
            "type": "frontend/set_system_data",
            "key": "home",
            "value": {**home, "favorite_entities": favorites},
        }
    )


async def bootstrap(args: argparse.Namespace) -> str | None:
    """Run every step; the demo oven's token with ``--demo``."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        api = Api(session, args.url.rstrip("/"))
        await onboard(api, args.config)
        token = await demo_oven_token(api, args.config) if args.demo else None
        if not args.demo and await remove_demo_oven(api, args.config):
            say(f"Removed the {DEMO_OVEN} of an earlier run (--no-demo)")
        say(
            f"Ready: {api.base}  user {USERNAME}, password {PASSWORD}"
            f'  (REST API: curl -H "Authorization: Bearer $(cat {args.config}/.dev_token)"'
            f" {api.base}/api/states)"
        )
        if token is not None:
            device_id, _ = await demo_entities(api)
            say(
                f"{DEMO_OVEN}: {api.base}/config/devices/device/{device_id}"
                " (its Start session button starts a measurement session)"
            )
        return token


def main() -> int:
    """Parse arguments, bootstrap, then exec the command after ``--`` if any."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--config", type=Path, required=True, help="HA's configuration folder")
    parser.add_argument("--demo", action="store_true", help="add the demo oven")
    parser.add_argument("then", nargs="*", help="after --: a command to exec with --token")
    args = parser.parse_args()
    try:
        token = asyncio.run(bootstrap(args))
    except (BootstrapError, aiohttp.ClientError, TimeoutError) as err:
        say(f"\033[1;31mBootstrap failed:\033[0m {err or type(err).__name__}")
        return 1
    except KeyboardInterrupt:  # Ctrl-C in the terminal reaches this process too
        return 130
    if args.then and token is not None:
        command = [*args.then, "--token", token]
        os.execv(command[0], command)  # noqa: S606  # our own simulator, no shell
    return 0


if __name__ == "__main__":
    sys.exit(main())
