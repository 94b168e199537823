"""Settings for the test suite: the project's own, in dev mode unless told otherwise."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QF_ENV", "dev")
os.environ.setdefault("QF_DATA_DIR", os.path.join(tempfile.gettempdir(), "qfweb-test-data"))
os.environ.setdefault("QF_ENCRYPTION_KEYS", "Zq3u2Kj4x2n0GQ7m8oJdQk7J2W1m3vYhQ0b7Jq8mK0E=")

from qfweb.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A worker started by a test (tests/routing/test_worker.py) takes and sends its tasks on a
# queue of that test's own, so workers of parallel tests never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("QF_TEST_CELERY_QUEUE", "celery")
