"""Our own subcommands of `python -m agent`, one module each."""
