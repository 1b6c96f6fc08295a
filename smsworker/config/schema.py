"""``Settings``: every setting a user can set, declared once (default, converter, scope, help text,
environment and TOML names) in the module of the commands that take it, and what is derived from them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smsworker.config import addresses
from smsworker.config.common import LOG_FORMATS, LOG_LEVELS, CommonSettings
from smsworker.config.dashboard import DashboardSettings
from smsworker.config.declare import Setting, declared
from smsworker.config.lanes import LaneSettings
from smsworker.config.receipts import ReceiptsSettings
from smsworker.config.worker import WorkerSettings
from smsworker.redact import redact_url
from smsworker.store.keys import default_dead_letter_key
from smsworker.store.target import RedisTarget

__all__ = ["BY_NAME", "LOG_FORMATS", "LOG_LEVELS", "SETTINGS", "SETTING_NAMES", "Settings", "default_of"]


# The fields of the bases come first, the last base's first: the order --help and the README show.
@dataclass(frozen=True)
class Settings(DashboardSettings, ReceiptsSettings, WorkerSettings, CommonSettings):
    # Per-provider tables, e.g. {"aliyun": {"access_key_id": ..., "templates": {...}}}.
    provider_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict, repr=False)
    # The [lanes.<name>] tables in file order (lanes.py); () when none is declared. Every command reads
    # the lane names from here: lane_order() adds the default lane.
    lanes: tuple[LaneSettings, ...] = ()
    # Derived by load_settings, never set directly: the secrets read from redis_password_file,
    # http_report_secret_file, receipts_path_token_file and dashboard_secret_file, once.
    redis_password: str | None = dataclasses.field(default=None, repr=False)
    http_report_secret: str | None = dataclasses.field(default=None, repr=False)
    receipts_path_token: str | None = dataclasses.field(default=None, repr=False)
    dashboard_secret: str | None = dataclasses.field(default=None, repr=False)
    # Derived from redis_url (its path or ?db=).
    redis_db: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "redis_db", addresses.redis_db(self.redis_url))

    @property
    def dead_letter_key(self) -> str:
        return self.dead_letter_queue or default_dead_letter_key(self.queue)

    def redacted_redis_url(self) -> str:
        """The Redis URL with any password replaced, for logs and messages."""
        return redact_url(self.redis_url)

    def redis_target(self) -> RedisTarget:
        """What these settings reach Redis through, for messages: sentinels, cluster nodes or the URL."""
        return RedisTarget.of(
            self.redis_url,
            sentinels=self.sentinels,
            master=self.sentinel_master,
            cluster=self.redis_cluster,
            password=self.redis_password,
        )


# What a user sets, in the order --help and the README show it; the other fields are derived.
SETTINGS: tuple[Setting, ...] = declared(Settings)
SETTING_NAMES = tuple(each.name for each in SETTINGS)
BY_NAME = {each.name: each for each in SETTINGS}


def default_of(setting: str) -> Any:
    """The declared default of ``setting``, for an object whose own default must agree with it."""
    return BY_NAME[setting].default
