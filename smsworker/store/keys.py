"""Every Redis key smsworker uses, named in one place (the commands are in the other modules of ``store/``).

Key layout. ``Q`` is the queue name (``sms_queue`` by default), the list producers push to, unchanged.
Every other key starts with ``{Q}``: braces make ``Q`` the key's *hash tag*, so in a Redis Cluster
each of them lands in the slot of ``Q`` itself (a key without braces hashes whole), and every
script and transaction stays in one slot. A queue name that already holds a hash tag (``{app}:sms``)
is used as it is. Before 0.2 the keys were named ``Q:dead``, ``Q:processing:...`` and so on:
``upgrade.py`` moves them once.

- ``Q``                       list. Producers ``LPUSH`` tasks; workers take from the right (FIFO).
- ``{Q}:dead``                list. Dead-letter envelopes (JSON), newest on the left. The name is
                              configurable (``dead_letter_queue``; in a cluster it must share the
                              queue's slot).
- ``{Q}:processing:<worker>`` list. Tasks a worker has claimed and not yet settled. A task leaves it
                              only once every recipient is sent or dead-lettered, in the same
                              script that records the outcome.
- ``{Q}:workers``             set. Worker ids (``host:pid:token``) that may own a processing list.
- ``{Q}:heartbeat:<worker>``  string with a TTL (``heartbeat_ttl``), renewed every third of it. Its
                              value says which process beats (host, pid, boot id, pid namespace,
                              start time), so a worker on the same machine can tell a dead process
                              at once without mistaking one in another container for it.
- ``{Q}:settled:<worker>``    string with a TTL. The number of the worker's last settle batch, so a
                              settle run again after a lost reply writes nothing twice.
- ``{Q}:progress:<key>``      hash. E.164 number -> ``1`` once the provider confirmed it, or the
                              reservation (``r <worker> <flight>``) of the request about to send it;
                              ``@<number>`` -> ``<provider> <message id>``: who confirmed it, so
                              whoever settles the task can record its receipt.
                              A recovered task skips what is ``1``; a second claimant of the same
                              recipient waits for the holder, or takes over when it is dead.
                              ``<key>`` is ``id:<id>`` when the producer gave an idempotency ``id``
                              (kept a day after the task), else ``d:<delivery>``, the token stamped
                              on the claimed element (deleted with the task).
- ``{Q}:status:<id>``         hash, TTL ``receipt_ttl``. For a task pushed with an ``id``: E.164 number ->
                              JSON ``{"state", "at", ...}``; ``state`` is ``queued`` (written by the
                              producer under the number as pushed: ``SmsQueue::pushWithId``, ``enqueue
                              --id``), ``sent`` (accepted by the provider: ``provider``,
                              ``message_id``), ``dead`` (``reason``, ``error``), then from reports
                              ``delivered`` / ``undelivered`` (``code``, ``text``, ``history``); ``scheduled``
                              and ``deferred`` (quiet hours) with ``until`` (unix s), ``cancelled``.
- ``{Q}:receipt:<provider>:<message id>:<number>``  string, TTL ``receipt_ttl``. JSON ``{"id", "number",
                              "at"}``: the task and number a vendor's delivery report will name; once
                              a report is applied also ``reported`` (its state) and ``reported_at``.
- ``{Q}:held``                hash. Reports that came before their receipt record (the task had not
                              settled yet): receipt key -> the reports, one JSON per line. Applied
                              when the settle writes the record, counted ``unmatched`` once older
                              than ``receipts_hold``.
- ``{Q}:held:since``          sorted set. The fields of ``{Q}:held``, scored by when the first report
                              for each came (unix s).
- ``{Q}:held:due``            list. Receipt keys the settle wrote while reports for them were held:
                              the receiver applies those reports next.
- ``{Q}:held:lock``           string with a TTL. Which receiver applies held reports (one at a time).
- ``{Q}:awaiting``            sorted set, TTL ``receipt_ttl``. Receipt keys no report has come for
                              yet, scored by acceptance time (unix s): what ``receipts --receipts-pull`` asks
                              the vendors about, and ``stats``'s ``awaiting_receipt``. A key leaves
                              when its report is applied, or once older than ``receipt_ttl``.
- ``{Q}:payload:<token>``     string, TTL ``receipt_ttl``, only with ``--dead-letter-undelivered``.
                              The producer's bytes of a settled task whose recipients await reports
                              (its receipt records name the key), so an ``undelivered`` report can
                              dead-letter the recipient in a task ``dlq replay`` can send again.
- ``{Q}:changes``             list, only with ``--receipts-list``. Each state written to a status hash
                              (sent, dead, delivered, undelivered) as JSON with ``id`` and ``number``,
                              newest on the left, capped at ``--receipts-list-max`` (LTRIM): a PHP
                              app ``brPop``s it to update its own records.
- ``{Q}:lane:<name>``         list. A lane's queue, when lanes are declared: workers move each element
                              of ``Q`` into the list of its lane (its ``lane`` field, else its
                              template, else ``default``), and take from the lanes in priority order.
                              A producer may ``LPUSH`` here directly.
- ``{Q}:origin:<worker>``     hash. Element -> the lane it was taken from and how many equal ones the
                              worker holds (``<lane>\t<n>``), for the elements of the worker's
                              processing list: recovery puts each back at the front of its lane.
- ``{Q}:scheduled``           sorted set. Tasks due later (``send_at``, quiet hours), scored by when
                              they are due: 16 hex + ``\n`` + lane + ``\n`` + campaign + ``\n`` +
                              recipients + ``\n`` + the task's bytes. Workers move due ones into
                              their lane (``Q`` without one), each exactly once (``promote.lua``).
- ``{Q}:paused``              hash. ``all`` | ``lane:<name>`` | ``provider:<name>`` |
                              ``campaign:<name>`` -> JSON ``{"at", "by"}``: nothing new is sent for it.
- ``{Q}:parked:<campaign>``   list. Tasks of a paused campaign a worker took: lane + ``\n`` + element,
                              moved back to the front of their lanes on resume or cancel.
- ``{Q}:cancel:id:<id>``, ``{Q}:cancel:campaign:<name>``  string, TTL 367 days (or ``receipt_ttl``
                              if longer). JSON ``{"at",
                              "by"}``: what is not sent yet of that task or campaign ends ``cancelled``.
- ``{Q}:campaign:<name>``     hash, TTL ``receipt_ttl``. A campaign's counters: ``tasks``, ``sent``,
                              ``dead``, ``cancelled``, ``scheduled``, ``delivered``, ``undelivered``,
                              ``segments``.
- ``{Q}:campaigns``           sorted set. Campaign name -> when it was last written (unix s).
- ``{Q}:ratelimit:<provider>`` string with a TTL. The GCRA state of ``--rate-limit``, shared by every
                              worker on this Redis (see ``ratelimit.py``).
- ``{Q}:stats``               hash. Counters: ``sent``, ``dead`` and ``cancelled`` recipients, ``tasks``
                              settled, ``segments`` (SMS parts, as the first provider counts them); from
                              delivery reports ``delivered``, ``undelivered`` and ``unmatched``.
- ``{Q}:minute:<n>``          hash, TTL 2 h. ``sent`` and ``dead`` recipients settled in minute ``n``
                              (unix time // 60), written by the settle script: the dashboard's chart.
- ``{Q}:head``                hash with a TTL. A digest of the element at the head of the queue and
                              when a reader first saw it there: the oldest queued task's age, at
                              least (``stats``, the metrics, the dashboard); ``{Q}:head:lane:<name>``
                              the same for a lane.
- ``{Q}:layout``              string. Set once the keys of the old layout have been looked for and
                              moved (``upgrade.py``), so later starts do not scan for them again.
- ``{Q}:session:<id>``        string with a TTL (the idle timeout). A dashboard login: JSON with the
                              user, role, a digest of the user's line in the users file (a changed
                              password or role, or a removed user, ends it), when it began, its CSRF
                              token. Deleted at logout.
- ``{Q}:sessions:<user>``     set. The ids of a user's sessions ("log out everywhere").
- ``{Q}:searches:<user>``     string with a TTL. A viewer's number searches in the current hour.
- ``{Q}:selection:<id>``      hash with a TTL. The dead letters an operator confirms a replay or
                              purge for: entry digest -> how many, and what the page said.

Elements in processing lists may carry a stamp (``stamps.py``): a delivery token, a crash count and
a check. A task that takes more than one provider request is stamped when claimed; recovery from a
dead worker stamps every element it moves, counting the crash.
"""

from __future__ import annotations

from dataclasses import dataclass

# How long a progress hash outlives its last write, and one under an idempotency id its task.
PROGRESS_TTL_S = 7 * 24 * 3600
IDEMPOTENCY_TTL_S = 24 * 3600
# How long a recipient's status and a receipt record are kept by default (--receipt-ttl).
RECEIPT_TTL_S = 72 * 3600
# How long a cancel is kept at least: as long as a task may be scheduled ahead (366 days), and a day,
# so a task scheduled further ahead than --receipt-ttl is not sent once its cancel expires.
CANCEL_TTL_S = 367 * 24 * 3600
# How long a worker's last settle-batch number is kept (a settle retried after a lost reply).
SETTLE_MARKER_TTL_S = 7 * 24 * 3600


def hash_tag(key: str) -> str | None:
    """The part of ``key`` Redis Cluster hashes, when the key names one: what is between the first
    ``{`` and the first ``}`` after it, if not empty."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    return key[start + 1 : end] if end > start + 1 else None


def key_prefix(queue: str) -> str:
    """What every key derived from ``queue`` starts with: ``{queue}``, whose hash tag is the queue's
    whole name, so all of them share the queue's slot; the name itself if it already holds a tag."""
    return queue if hash_tag(queue) is not None else "{" + queue + "}"


def default_dead_letter_key(queue: str) -> str:
    return f"{key_prefix(queue)}:dead"


@dataclass(frozen=True)
class Keys:
    queue: str  # the list producers push to
    dead: str  # the dead-letter list

    @property
    def prefix(self) -> str:
        return key_prefix(self.queue)

    def minute(self, n: int) -> str:
        """Recipients sent and dead-lettered in minute ``n`` (unix time // 60)."""
        return f"{self.prefix}:minute:{n}"

    @property
    def head(self) -> str:
        """When the element now at the head of the queue was first seen there."""
        return f"{self.prefix}:head"

    def lane_head(self, name: str) -> str:
        """When the element now at the head of a lane was first seen there."""
        return f"{self.prefix}:head:lane:{name}"

    @property
    def layout(self) -> str:
        """Present once the old layout's keys were moved (``upgrade.py``)."""
        return f"{self.prefix}:layout"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:stats"

    def lane(self, name: str) -> str:
        """A lane's queue (a list, like ``queue``)."""
        return f"{self.prefix}:lane:{name}"

    @property
    def scheduled(self) -> str:
        """Tasks to send later, scored by when they are due (a sorted set)."""
        return f"{self.prefix}:scheduled"

    @property
    def paused(self) -> str:
        """What is paused: scope -> JSON ``{"at", "by"}`` (a hash)."""
        return f"{self.prefix}:paused"

    def parked(self, campaign: str) -> str:
        """Tasks of a paused campaign a worker took: the lane, a newline, the element (a list)."""
        return f"{self.prefix}:parked:{campaign}"

    def cancel_id(self, task_id: str) -> str:
        """Present: the task with this ``id`` is cancelled."""
        return f"{self.prefix}:cancel:id:{task_id}"

    def cancel_campaign(self, name: str) -> str:
        """Present: every task of this campaign is cancelled."""
        return f"{self.prefix}:cancel:campaign:{name}"

    def campaign(self, name: str) -> str:
        """A campaign's counters (a hash)."""
        return f"{self.prefix}:campaign:{name}"

    @property
    def campaigns(self) -> str:
        """Campaign name -> unix s of its last write (a sorted set)."""
        return f"{self.prefix}:campaigns"

    def origin(self, worker_id: str) -> str:
        """A worker's claimed element -> the lane it came from (a hash)."""
        return f"{self.prefix}:origin:{worker_id}"

    def processing(self, worker_id: str) -> str:
        return f"{self.prefix}:processing:{worker_id}"

    def heartbeat(self, worker_id: str) -> str:
        return f"{self.prefix}:heartbeat:{worker_id}"

    def settle_marker(self, worker_id: str) -> str:
        return f"{self.prefix}:settled:{worker_id}"

    def ratelimit(self, provider: str) -> str:
        return f"{self.prefix}:ratelimit:{provider}"

    def status(self, task_id: str) -> str:
        """What each recipient of the task with this ``id`` became: number -> state JSON."""
        return f"{self.prefix}:status:{task_id}"

    @property
    def awaiting(self) -> str:
        """Receipt keys no report has come for yet, scored by when the provider accepted them (a
        sorted set: the puller asks about the oldest; ``stats`` counts them). Entries leave when a
        report lands or once older than the receipt TTL."""
        return f"{self.prefix}:awaiting"

    def payload(self, token: str) -> str:
        """With --dead-letter-undelivered: a settled task's bytes, which its receipt records name."""
        return f"{self.prefix}:payload:{token}"

    @property
    def held(self) -> str:
        """Reports that came before their receipt record: receipt key -> JSON lines."""
        return f"{self.prefix}:held"

    @property
    def held_since(self) -> str:
        return f"{self.prefix}:held:since"

    @property
    def held_due(self) -> str:
        """Receipt keys just written while reports for them were held."""
        return f"{self.prefix}:held:due"

    @property
    def held_lock(self) -> str:
        return f"{self.prefix}:held:lock"

    def session(self, session_id: str) -> str:
        """A dashboard login."""
        return f"{self.prefix}:session:{session_id}"

    def sessions(self, user: str) -> str:
        """The ids of one dashboard user's sessions."""
        return f"{self.prefix}:sessions:{user}"

    def searches(self, user: str) -> str:
        """A dashboard viewer's number searches this hour."""
        return f"{self.prefix}:searches:{user}"

    def selection(self, selection_id: str) -> str:
        """Dead letters chosen for a replay or purge, awaiting its confirmation."""
        return f"{self.prefix}:selection:{selection_id}"

    @property
    def changes(self) -> str:
        """With --receipts-list: every change of a status hash, JSON, newest on the left, capped."""
        return f"{self.prefix}:changes"

    def receipt(self, provider: str, message_id: str, number: str) -> str:
        """Which task and number a vendor's message id belongs to. By number too: Alibaba's BizId
        is one id for every number of a request."""
        return f"{self.receipt_prefix}{provider}:{message_id}:{number}"

    @property
    def receipt_prefix(self) -> str:
        return f"{self.prefix}:receipt:"

    def parse_receipt(self, key: str) -> tuple[str, str, str] | None:
        """(provider, message id, number) of a ``receipt`` key; None for another key. Message ids
        may hold colons (Tencent's ``2433:...``); provider names and E.164 numbers do not."""
        prefix = self.receipt_prefix
        if not key.startswith(prefix):
            return None
        provider, _, rest = key[len(prefix) :].partition(":")
        message_id, _, number = rest.rpartition(":")
        return (provider, message_id, number) if provider and message_id and number else None

    def progress(self, task_id: str | None, token: str | None) -> str | None:
        """The progress hash of a task: by its idempotency id, else by its delivery token."""
        if task_id is not None:
            return f"{self.prefix}:progress:id:{task_id}"
        if token is not None:
            return f"{self.prefix}:progress:d:{token}"
        return None
