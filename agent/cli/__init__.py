"""Our own subcommands of ``python -m agent``, one module each (``transcribe``, ``minutes``,
``demo``); ``agent.__main__`` loads the one asked for. Nothing below imports this package."""

__all__: list[str] = []
