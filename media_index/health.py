"""Liveness of everything a search or an upload depends on, for ``/healthz``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

# A worker that does not answer a ping within this many seconds counts as absent;
# short because the health check itself must answer quickly.
WORKER_PING_TIMEOUT_SECONDS = 1.0
BROKER_CONNECT_TIMEOUT_SECONDS = 2.0


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported as text
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    if row is None:
        return {"ok": False, "error": "the pgvector extension is not installed (run migrations)"}
    return {"ok": True, "vendor": connection.vendor, "pgvector": row[0]}


def check_broker() -> dict[str, Any]:
    from searchsite.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_CONNECT_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    return {"ok": True}


def check_workers() -> dict[str, Any]:
    from searchsite.celery import app

    try:
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT_SECONDS) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "count": 0, "error": f"{type(exc).__name__}: {exc}".strip()}
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {"ok": False, "count": 0, "error": "no Celery worker answered; uploads will wait until one starts"}
    return {"ok": True, "count": len(names), "names": names}


def check_model() -> dict[str, Any]:
    from media_index.embedding.registry import model_status

    return model_status()


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: the overall status and which checks pass. The details (the
    model's file path, worker host names, versions, error texts) are for staff and for
    monitors holding ``HEALTH_TOKEN``: they map the deployment for an attacker."""
    return {"status": report["status"],
            "checks": {name: {"ok": bool(check.get("ok"))} for name, check in report["checks"].items()}}  # fmt: skip


def system_health() -> tuple[bool, dict[str, Any]]:
    """Every check's report, and whether all of them passed."""
    checks = {
        "database": check_database(),
        # Without a broker, worker pings cannot be sent either: skip the wait.
        "broker": check_broker(),
    }
    checks["worker"] = (
        check_workers() if checks["broker"]["ok"] else {"ok": False, "count": 0, "error": "broker unreachable"}
    )
    checks["model"] = check_model()
    healthy = all(report["ok"] for report in checks.values())
    return healthy, {"status": "ok" if healthy else "unavailable", "checks": checks}
