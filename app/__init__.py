"""Composition root: settings, the Faust app, topics, web views and the CLI.

No business logic lives here; importing any module of this package has no
side effect (no connection, no thread, no settings read).
"""
