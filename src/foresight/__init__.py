"""Foresight: a predictive control plane for cloud-native AI platforms.

Every capability is one loop, observe -> decide -> act: sources read the platform (or the
simulator), pure cores decide, actuators act. See ``README.md`` for the picture.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
