"""Work that runs once the response has been sent, through Django's tasks framework.

`django.tasks` on Django 6 and the `django-tasks` backport on Django 5.2 offer the same API; this
module is the one place that knows which is installed. Which backend runs a task is settings'
`TASKS` (`TASK_BACKEND`): the immediate backend by default, which runs it in the web process right
after the answer has gone out, or a real queue in production (the database backend of
`django-tasks-db`, worked by `manage.py db_worker`; docs/deployment.md).

Tasks are enqueued on `request_finished`, when the WSGI server has sent the whole answer, never
during the view: with the immediate backend the task runs there and then, and what it does (an
email for one address, none for another) must not show in how long the answer took.
"""

from __future__ import annotations

import logging
import threading
from importlib.util import find_spec
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver

if find_spec("django.tasks") is not None:  # Django 6
    from django.tasks import task
    from django.tasks.base import Task
else:  # Django 5.2: the backport, installed as `django-tasks`
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]
    from django_tasks.base import Task  # type: ignore[assignment,no-redef,unused-ignore]

__all__ = ["Task", "enqueue_after_response", "task"]

logger = logging.getLogger("accessproject.identity")

# The tasks this thread's current request asked for, enqueued once its response has been sent.
_pending = threading.local()


def enqueue_after_response(work: Task[..., Any], **kwargs: Any) -> None:
    """Enqueue `work` with these (JSON-serialisable) arguments once the response has been sent."""
    jobs: list[tuple[Task[..., Any], dict[str, Any]]] | None = getattr(_pending, "jobs", None)
    if jobs is None:
        jobs = _pending.jobs = []
    jobs.append((work, kwargs))


@receiver(request_finished, dispatch_uid="identity.background.enqueue_pending")
def _enqueue_pending(**signal: object) -> None:
    """`request_finished` (the server closed the response): enqueue the request's tasks."""
    jobs: list[tuple[Task[..., Any], dict[str, Any]]] = getattr(_pending, "jobs", None) or []
    _pending.jobs = []
    for work, kwargs in jobs:
        try:
            work.enqueue(**kwargs)
        except Exception:
            # A queue that cannot be reached loses this task, not the next one or the worker.
            logger.exception("the background task %s could not be enqueued", work.module_path)
