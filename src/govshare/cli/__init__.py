"""The ``govshare`` command line (Typer): one module per command group."""
