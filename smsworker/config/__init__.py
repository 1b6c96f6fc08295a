"""Settings, each declared once (``declare.py``: default, converter, help, environment and TOML
names, the commands that take it) in the module of the commands that take it: ``common.py`` (every
command that talks to Redis), ``worker.py``, ``receipts.py``, ``dashboard.py``. ``schema.py`` puts them
together as ``Settings``; ``settings.py`` loads them (defaults < TOML file < environment < flags);
``values.py`` holds the converters."""
