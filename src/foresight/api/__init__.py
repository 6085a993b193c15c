"""The FastAPI app of ``foresight serve`` and its dashboard (fastapi lives here and nowhere else)."""

from foresight.api.app import create_app
from foresight.api.server import run_dashboard_for_demo, serve_forever, start_in_thread

__all__ = ["create_app", "run_dashboard_for_demo", "serve_forever", "start_in_thread"]
