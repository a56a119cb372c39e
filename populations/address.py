"""Fail fast on a Ray address nobody listens at (``--address`` of ``search`` and ``reproduce``)."""

from __future__ import annotations

from pbt_econ.core.errors import ConfigError

__all__ = ["check_address"]


def check_address(address: str | None, timeout_s: float = 10.0) -> None:
    """An explicit ``HOST:PORT`` (or ``ray://`` / ``http://`` URL) accepts TCP connections within ``timeout_s``.

    ``ray.init`` waits for an unreachable address for a long time; this fails fast with the address named.
    ``auto`` (and no address) is left to Ray.
    """
    if not address or address == "auto":
        return
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ConfigError(f"--address {address!r}: must be auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConfigError(f"--address {address}: cannot connect to a Ray cluster there within {timeout_s:g} s "
                          f"({exc.strerror or exc}); is `ray start --head` running, and is the port right?") from None
