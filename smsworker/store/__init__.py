"""The only package that talks to Redis. Nothing outside it imports ``redis``; other packages name
Redis failures through ``store.errors`` (``OUTAGES``: the ones that pass).

Where the keys are named, and the layout: ``keys.py``. The Lua scripts: ``scripts/*.lua``, loaded
and registered by ``scripts.py`` alone. Which classes hold the client, and what each does with a
Redis error:

- ``RedisQueue`` (``queue.py``: claiming, settling, workers, inspection, dead letters) and
  ``Progress`` (``progress.py``): every Redis error reaches the caller. The worker calls them only
  through its ``WorkerRedis`` (``worker/guarded.py``), which retries outages with a backoff and gives
  up only when stopping, except its heartbeat thread (``worker/liveness.py``), which logs a failed
  beat and beats again a third of the TTL later; the CLI reports the error and exits.
- ``RateLimiter`` (``ratelimit.py``): with Redis away a request goes without its turn (the vendor's
  throttling is a transient error, retried), unless asked to be ``strict`` (the pull APIs: no turn,
  no call).
- ``ReceiptStore`` (``receipts.py``), ``HeldStore`` (``held.py``), ``AwaitingReceipts``
  (``awaiting.py``): the receiver's. Errors reach the receiver, which answers 503 (the vendor pushes
  again), keeps what a vendor will not send twice in its backlog, or tries again next round.
- ``SessionRecords``, ``SearchCounts``, ``Selections`` (``dashboard.py``): the dashboard's. Errors
  reach it, and it answers 503 until Redis is back.
- ``StatusBook`` (``status.py``) and the layout upgrade (``upgrade.py``): errors reach the caller
  (the CLI, the dashboard's status page, whoever opens the queue).
- ``connect.py`` makes the clients (one server, Sentinel, Cluster) and turns cluster-routing
  failures into the redis errors the rest expects.
"""
