"""``smsworker receipts``: the HTTP receiver for delivery reports (a Flask app, served by waitress)."""
