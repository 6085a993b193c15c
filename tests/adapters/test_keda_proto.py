"""Foresight's copy of KEDA's externalscaler.proto: the committed generated code matches it, and
what it puts on the wire is exactly what KEDA's original declares."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2

from foresight.adapters.keda_proto import externalscaler_pb2

PROTO_DIR = Path(externalscaler_pb2.__file__).parent
RELATIVE = Path("foresight", "adapters", "keda_proto")
GENERATED = ("externalscaler_pb2.py", "externalscaler_pb2.pyi", "externalscaler_pb2_grpc.py")


def compile_to_descriptor(include: Path, proto: str, out: Path) -> descriptor_pb2.FileDescriptorProto:
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{include}", f"--descriptor_set_out={out}", proto], check=True
    )
    (file,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return file


def test_committed_generated_code_matches_the_proto(tmp_path):
    (tmp_path / RELATIVE).mkdir(parents=True)
    shutil.copy(PROTO_DIR / "externalscaler.proto", tmp_path / RELATIVE)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp_path}", f"--python_out={tmp_path}",
         f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}", str(RELATIVE / "externalscaler.proto")],
        check=True,
    )
    stale = [name for name in GENERATED if (tmp_path / RELATIVE / name).read_text() != (PROTO_DIR / name).read_text()]
    assert not stale, f"regenerate {stale}: see the command at the top of externalscaler.proto"


def test_the_wire_contract_is_kedas(shared_data, tmp_path):
    kedas = compile_to_descriptor(shared_data / "protocols" / "keda", "externalscaler.proto", tmp_path / "k.pb")
    ours = compile_to_descriptor(PROTO_DIR, "externalscaler.proto", tmp_path / "f.pb")
    assert (ours.package, ours.syntax) == ("externalscaler", "proto3")
    for file in (kedas, ours):  # the file name and Go options never reach the wire
        file.ClearField("name")
        file.ClearField("options")
    # package, service and RPC names, streaming, message names, field names, numbers and types
    assert ours == kedas
