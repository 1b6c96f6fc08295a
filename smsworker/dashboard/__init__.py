"""``smsworker dashboard``: the operator's web pages (Flask, served by waitress like the receiver).

- ``users.py``   the users file: names, roles, password hashes (``dashboard add-user``)
- ``guard.py``   logins, sessions, CSRF tokens, the login rate limit, roles
- ``texts.py``   the pages' words in English and Simplified Chinese
- ``reads.py``   what the pages show, read from Redis; the actions (replay, purge) through ``deadletters.py``
- ``traffic.py`` pausing and resuming, campaigns, cancelling a task or a campaign (``store/control.py``)
- ``app.py``     the Flask app: pages, the JSON API under ``/api/``, the audit log
"""
