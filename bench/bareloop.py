"""The ceiling for scenario (a) and (c): the seed article's loop done with threads, no reliability.

Each thread: BRPOP, json.loads, one requests POST per recipient. No processing list, no retries,
no dead letters, no logging: what it costs to move a task from Redis to HTTP at all.
Exits when the queue stays empty for --idle-exit seconds (or on SIGTERM with --forever).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

import redis
import requests


def worker(
    url: str, redis_url: str, queue: str, stop: threading.Event, idle_exit_s: float, forever: bool
) -> None:
    client = redis.Redis.from_url(redis_url)
    session = requests.Session()
    while not stop.is_set():
        item = client.brpop([queue], timeout=idle_exit_s)
        if item is None:
            if forever:
                continue
            return
        task = json.loads(item[1])
        for mobile in task["mobiles"]:
            session.post(
                url,
                json={
                    "template_id": task["template_id"],
                    "mobile": "+86" + str(mobile),
                    "content": task["content"],
                },
                timeout=10,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--queue", default="sms_queue")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--idle-exit", type=float, default=1.0)
    parser.add_argument("--forever", action="store_true")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [
        threading.Thread(
            target=worker, args=(args.url, args.redis_url, args.queue, stop, args.idle_exit, args.forever)
        )
        for _ in range(args.concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
