"""The repository itself: no package-registry host written into it; set-up reads the mirror.

scripts/setup fetches Python 3.14 from Debian's sid suite. Which mirror serves it is this
machine's business (its apt sources), not the repository's.
"""

from __future__ import annotations

from pathlib import Path
import re
import subprocess

import pytest

ROOT = Path(__file__).parent.parent
# Registry and mirror hosts: Debian's, PyPI's, npm's (and the usual mirror networks).
REGISTRY_HOST = re.compile(
    r"\b(?:deb|ftp|security|snapshot)\.debian\.org\b|\bpypi\.org\b|pythonhosted\.org"
    r"|registry\.npmjs\.org|\bnpmjs\.(?:org|com)\b|archive\.ubuntu\.com"
)

APT_CACHE_POLICY = """Package files:
 100 /var/lib/dpkg/status
     release a=now
 500 http://mirror.test/debian-security bookworm-security/main amd64 Packages
     release v=12,o=Debian,a=oldstable-security,n=bookworm-security,l=Debian-Security,c=main
 500 http://mirror.test/debian bookworm-updates/main amd64 Packages
     release v=12-updates,o=Debian,a=oldstable-updates,n=bookworm-updates,l=Debian,c=main
 500 http://mirror.test/debian bookworm/main amd64 Packages
     release v=12.15,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64
Pinned packages:
"""


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return [ROOT / name.decode() for name in listed if name]


def test_no_registry_host_in_the_repository() -> None:
    files = _tracked_files()
    assert len(files) > 50  # the listing worked
    found = []
    for path in files:
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images
        found.extend(
            f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
            for m in REGISTRY_HOST.finditer(text)
        )
    assert not found, found


def _debian_mirror(policy: str | None) -> subprocess.CompletedProcess[str]:
    """Run scripts/setup's ``debian_mirror`` with ``apt-cache``/``apt-get`` stand-ins."""
    function = re.search(
        r"^debian_mirror\(\) \{\n.*?^\}\n",
        (ROOT / "scripts" / "setup").read_text(encoding="utf-8"),
        re.DOTALL | re.MULTILINE,
    )
    assert function is not None, "scripts/setup has no debian_mirror function"
    script = "\n".join(
        [
            'die() { echo "DIE: $*" >&2; exit 1; }',
            """apt-cache() { printf '%s' "$POLICY"; }""",
            "apt-get() { :; }",
            function.group(),
            "debian_mirror",
        ]
    )
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "POLICY": policy or ""},
    )


def test_setup_takes_the_debian_mirror_apt_already_uses() -> None:
    """The plain ``<suite>/main`` line's URL: not the security or updates archive."""
    result = _debian_mirror(APT_CACHE_POLICY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://mirror.test/debian"


@pytest.mark.parametrize("policy", [None, "Package files:\n 100 /var/lib/dpkg/status\n"])
def test_setup_says_what_to_do_without_a_mirror(policy: str | None) -> None:
    """No Debian source known to apt: a clear message, no guessed host."""
    result = _debian_mirror(policy)
    assert result.returncode != 0
    assert "IOT_HUB_PYTHON" in result.stderr
