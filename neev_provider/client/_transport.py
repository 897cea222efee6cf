"""What the sync and async transports share besides the request steps: headers, TLS, wording.

Both clients resolve TLS the same way, so that a worker (sync) and a triggerer (async) behind a
corporate CA either both work or both fail: ``verify`` ``False`` turns verification off (and
each client says so in a warning when it is built), a path names a CA bundle, and ``True``
uses the first of ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``SSL_CERT_FILE`` that is set,
else certifi's bundle (what requests and httpx use by default).
"""

from __future__ import annotations

import logging
import os
import ssl

from neev_provider.client._body import ACCEPT_ENCODING
from neev_provider.client.config import ClientConfig
from neev_provider.client.errors import NeevCloudValidationError

log = logging.getLogger("neev_provider.client")

#: The environment variables naming a CA bundle, in the order they are honoured.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def request_headers(authorization: str | None, user_agent: str, *, has_body: bool) -> dict[str, str]:
    """Return the headers of one request."""
    headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING, "User-Agent": user_agent}
    if has_body:
        headers["Content-Type"] = "application/json"
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def ca_bundle(config: ClientConfig) -> bool | str:
    """``False``, or the path of the CA bundle to verify the server with (see the module docstring)."""
    if config.verify is False:
        log.warning(
            "TLS certificate verification is off for %s (%s sets verify to false): anyone on the "
            "network path can read the token and answer in the API's name",
            config.host,
            config.label or "the client configuration",
        )
        return False
    if isinstance(config.verify, str):
        return config.verify
    for name in CA_BUNDLE_VARIABLES:
        path = os.environ.get(name)
        if path:
            return path
    import certifi

    return str(certifi.where())


def ssl_context(config: ClientConfig) -> ssl.SSLContext | bool:
    """The TLS settings of the async client: an SSL context built from :func:`ca_bundle`."""
    bundle = ca_bundle(config)
    if bundle is False:
        return False
    try:
        return ssl.create_default_context(cafile=str(bundle))
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise NeevCloudValidationError(
            "verify", bundle, f"could not be loaded as a CA bundle ({type(exc).__name__})"
        ) from exc
