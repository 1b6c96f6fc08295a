"""Settings, each declared once (``declare.py``: default, converter, help, environment and TOML
names, the commands that take it) in the module of the commands that take it: ``common.py`` (every
command that talks to Redis), ``worker.py``, ``receipts.py``, ``dashboard.py``. ``schema.py`` puts them
together as ``Settings``; ``settings.py`` loads them (defaults < TOML file < environment < flags);
``values.py`` holds the converters. The vendors' own tables ([aliyun], ...) are declared in
``vendors.py``, the lanes' ([lanes.<name>]) in ``lanes.py``; ``tomlfile.py`` reads the file, refusing
any key no declaration names; ``messages.py`` holds the words setting errors share, in English and
Chinese."""
