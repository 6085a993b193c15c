"""``foresight serve``: the enabled controllers in one process, on the simulator or a real platform."""

from foresight.serve.runtime import Runtime
from foresight.serve.service import Service, build_service

__all__ = ["Runtime", "Service", "build_service"]
