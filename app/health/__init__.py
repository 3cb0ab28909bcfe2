"""``/health``, ``/ready``, ``/status`` and ``/scheduler`` of both processes.

:mod:`app.health.model` holds the readiness model and the JSON documents,
:mod:`app.health.ingest_health` and :mod:`app.health.worker_health` what each
process checks and reports, :mod:`app.health.pages` the HTTP side.
"""
