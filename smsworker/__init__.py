"""smsworker: a reliable Redis-to-SMS queue worker for the ``sms_queue`` PHP apps already push to."""

__version__ = "0.2.0"
