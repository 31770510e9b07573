"""The practitioners' dashboard at /dashboard: signing in, and the pages behind it.

One blueprint; each module below adds its pages to it. webhooks/dashboard/auth.py has
what every page needs: `login_required`, `current_practitioner()` and the area check.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard",
                      template_folder="templates")

# The modules register their routes on the blueprint when imported.
from webhooks.dashboard import audit, carers, home, reports, requests, signin  # noqa: E402, F401
