"""The Typer command-line interface: a thin client of the core library."""
