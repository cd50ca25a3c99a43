"""leadctl: lead management for small businesses, from the terminal."""

__version__ = "0.1.0"
