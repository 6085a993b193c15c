"""``foresight serve``: the enabled controllers in one process, on the simulator or a real platform."""

from foresight.serve.service import Service, build_service
from foresight.serve.stepper import Stepper

__all__ = ["Service", "Stepper", "build_service"]
