"""The ``verify`` setting for httpx: system trust by default, a CA bundle, or (tests only) off."""

from __future__ import annotations

import ssl

from ..config import ClientConfig
from ..errors import ConfigError


def tls_verify(client: ClientConfig) -> ssl.SSLContext | bool:
    """``True`` (httpx's default trust store) unless ``caBundle`` or ``verifyTls: false`` is set.

    A bad CA file is a configuration error raised at start-up, not a TLS failure on first call.
    """
    if not client.verify_tls:
        return False
    if client.ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(client.ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([f"openchoreo.client.caBundle: cannot load {client.ca_bundle}: {exc}"]) from None
