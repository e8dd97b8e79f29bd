"""Errors that end ``teleglas run`` with one line (imported by the CLI without loading aiogram)."""


class StartupError(Exception):
    """Telegram could not be used at start-up. ``str()`` is the one line shown; ``exit_code`` 2
    means a setting is wrong (the systemd unit does not restart on 2), 1 means try again later."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
