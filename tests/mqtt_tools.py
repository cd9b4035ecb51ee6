"""Helpers of the MQTT tests: what a bus delivered, unique topics and ids, a TLS authority.

Tests share the machine's broker with every other test run, so each one works under a topic
base and client ids of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from custom_components.iot_hub.transport.mqtt.connection import ClientSettings

from .mosquitto import HOST, SHARED_PORT, TlsFiles


def unique(name: str = "t") -> str:
    """A name no other test uses (topic bases, client ids)."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


def bus_settings(port: int = SHARED_PORT, **changes: Any) -> ClientSettings:
    """Settings of a test's dedicated bus: its own client id, fast back-off, short sessions."""
    values: dict[str, Any] = {
        "host": HOST,
        "port": port,
        "client_id": unique("iot_hub-test"),
        "session_expiry": 60,  # sessions left on the shared broker go away soon
        "timeout": 5.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
    } | changes
    return ClientSettings(**values)


@dataclass
class Inbox:
    """A message callback that keeps what it got."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)

    def __call__(self, topic: str, payload: bytes) -> None:
        """Keep one message."""
        assert isinstance(payload, bytes)
        self.messages.append((topic, payload))

    @property
    def payloads(self) -> list[bytes]:
        """What arrived, in order."""
        return [payload for _, payload in self.messages]

    def has(self, payload: bytes) -> Callable[[], bool]:
        """A predicate for ``until``: ``payload`` arrived."""
        return lambda: payload in self.payloads


def make_tls(directory: Path) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1 signed by it, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iot_hub test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return files
