"""The project's own settings, plus the view log the browser suite reads."""

from accessproject.settings import *  # noqa: F403
from accessproject.settings import MIDDLEWARE

# Last, so that it sees only what every other middleware, the gate included, let through.
MIDDLEWARE = [*MIDDLEWARE, "tests.browser.viewlog.ViewLogMiddleware"]
