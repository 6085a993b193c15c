"""The model server that serves each framework, and how it is started.

A ModelDeployment names its framework and gets a known-good server without writing a container
spec; ``runtime.image``/``command``/``args`` override any of it (and ``custom`` requires an image).
Every server reads the model from ``/mnt/models``, where KServe's storage initializer (an init
container, the same one KServe uses) downloads ``model.uri`` before the server starts, and
listens for HTTP on one port. Images are pinned tags, never ``latest``: a GitOps repository must
say exactly what runs. Servers run as a non-root UID on a read-only root filesystem: ``/tmp``
(``HOME`` too) and the folders in :attr:`ServingRuntime.writable` are emptyDirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MODEL_DIR", "SERVING_RUNTIMES", "STORAGE_INITIALIZER", "Framework", "ServingRuntime"]

Framework = Literal["sklearn", "xgboost", "pytorch", "tensorflow", "onnx", "triton", "huggingface", "custom"]

#: Downloads ``s3://``, ``gs://``, ``https://`` and ``hf://`` URIs: ``storage-initializer SRC DEST``.
STORAGE_INITIALIZER = "kserve/storage-initializer:v0.15.2"
MODEL_DIR = "/mnt/models"


@dataclass(frozen=True)
class ServingRuntime:
    """How one server is started. ``{name}`` in args becomes the model's name, ``{port}`` the port."""

    image: str
    gpu_image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    readiness_path: str | None
    #: folders the server writes to besides /tmp (the root filesystem is mounted read-only)
    writable: tuple[str, ...] = ()

    def image_for(self, gpus: int) -> str:
        """The CUDA build when the pod has GPUs, the smaller CPU build otherwise."""
        return self.gpu_image if gpus > 0 else self.image


_KSERVE_ARGS = ("--model_name={name}", f"--model_dir={MODEL_DIR}", "--http_port={port}")
_TRITON = ServingRuntime(
    image="nvcr.io/nvidia/tritonserver:24.08-py3",
    gpu_image="nvcr.io/nvidia/tritonserver:24.08-py3",
    command=("tritonserver",),
    args=(f"--model-repository={MODEL_DIR}", "--http-port={port}", "--allow-grpc=false"),
    readiness_path="/v2/health/ready",
)

SERVING_RUNTIMES: dict[str, ServingRuntime] = {
    "sklearn": ServingRuntime(
        "kserve/sklearnserver:v0.15.2", "kserve/sklearnserver:v0.15.2", (), _KSERVE_ARGS, "/v1/models/{name}"
    ),
    "xgboost": ServingRuntime(
        "kserve/xgbserver:v0.15.2", "kserve/xgbserver:v0.15.2", (), _KSERVE_ARGS, "/v1/models/{name}"
    ),
    "huggingface": ServingRuntime(
        "kserve/huggingfaceserver:v0.15.2",
        "kserve/huggingfaceserver:v0.15.2-gpu",
        (),
        _KSERVE_ARGS,
        "/v1/models/{name}",
    ),
    "pytorch": ServingRuntime(
        image="pytorch/torchserve:0.12.0-cpu",
        gpu_image="pytorch/torchserve:0.12.0-gpu",
        command=("torchserve",),
        args=("--foreground", f"--model-store={MODEL_DIR}", "--models=all", "--disable-token-auth"),
        readiness_path="/ping",
        writable=("/home/model-server/logs", "/home/model-server/tmp"),  # TorchServe's logs and workers' scratch
    ),
    "tensorflow": ServingRuntime(
        image="tensorflow/serving:2.18.0",
        gpu_image="tensorflow/serving:2.18.0-gpu",
        command=("tensorflow_model_server",),
        args=("--model_name={name}", f"--model_base_path={MODEL_DIR}", "--rest_api_port={port}", "--port=9000"),
        readiness_path="/v1/models/{name}",
    ),
    "onnx": _TRITON,
    "triton": _TRITON,
}
