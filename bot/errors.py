"""Errors that end ``teleglas run`` with one line (imported by the CLI without loading aiogram)."""


class StartupError(Exception):
    """Telegram could not be used at start-up. ``str()`` is the one line shown; ``exit_code`` 2
    means a setting is wrong (the systemd unit does not restart on 2), 1 means try again later."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def network_error_detail(exc: BaseException, limit: int = 160) -> str:
    """Why a request to the Bot API server failed, for the start-up line: the address tried and
    the operating system's reason ("connecting to 127.0.0.1:8081: connection refused").

    aiohttp's own text ("Cannot connect to host … ssl:default […]") names ssl even for a plain
    http:// address, which sends people looking for a TLS problem that is not there; TLS is
    named here only when TLS is what failed. aiohttp is imported only when this is called (the
    CLI imports this module without loading the HTTP stack)."""
    import errno as errno_names
    import os

    import aiohttp

    detail = ""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen and not detail:
        seen.add(id(cause))
        if isinstance(cause, aiohttp.ClientConnectorError):
            where = f"connecting to {cause.host}:{cause.port}"
            os_error = cause.os_error
            if isinstance(cause, aiohttp.ClientConnectorCertificateError):
                detail = f"{where}: TLS certificate not accepted ({cause.certificate_error})"
            elif isinstance(cause, aiohttp.ClientSSLError):
                detail = f"{where}: TLS handshake failed ({os_error})"
            elif isinstance(cause, aiohttp.ClientConnectorDNSError):
                detail = f"{where}: host name not found"
            elif (code := os_error.errno) is not None and code in errno_names.errorcode:
                detail = f"{where}: {os.strerror(code).lower()}"
            else:
                detail = f"{where}: {os_error.strerror or os_error}"
        elif isinstance(cause, TimeoutError):
            detail = "no answer in time"
        cause = cause.__cause__ or cause.__context__
    detail = detail or str(exc) or type(exc).__name__
    return detail if len(detail) <= limit else detail[:limit - 1] + "…"
