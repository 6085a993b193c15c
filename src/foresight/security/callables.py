"""Which globals a model pickle may import: safe, dangerous, or unknown.

A pickle can only run code through callables it imports, so each imported ``module.name`` is judged:

* **dangerous** (an error): it runs commands or code, opens files or sockets, imports modules by
  name, or loads another pickle (``os``, ``subprocess``, ``builtins.eval``, ``runpy``, ``pickle.loads``,
  ``torch.load``, ``numpy.load`` ...), also when reached through another module's attribute
  (``posixpath.os.system``);
* **safe** (nothing): the classes and rebuild helpers that numpy, scikit-learn, SciPy, PyTorch,
  XGBoost, LightGBM and the standard containers write when pickling models and arrays;
* **unknown** (a warning): everything else; a person decides, or adds it to the allowlist.

The allowlist is deliberately narrow for functions (exact names) and broad only for classes of the
ML libraries (a capitalised name inside ``sklearn``/``torch.nn``/...), whose constructors and
``__setstate__`` only store parameters.
"""

from __future__ import annotations

import re
from enum import Enum

__all__ = ["Verdict", "judge"]


class Verdict(str, Enum):
    SAFE = "safe"
    UNKNOWN = "unknown"
    DANGEROUS = "dangerous"


#: whole modules (and their submodules) whose globals run code, touch files, network or processes
_DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "runpy", "pty", "socket", "webbrowser", "shutil", "importlib",
    "marshal", "types", "code", "codeop", "ctypes", "_ctypes", "multiprocessing", "asyncio", "pickle", "_pickle",
    "cPickle", "dill", "cloudpickle", "pip", "setuptools", "distutils", "ensurepip", "venv", "http", "urllib",
    "urllib2", "urllib3", "requests", "httpx", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "xmlrpc",
    "socketserver", "ssl", "signal", "tempfile", "glob", "io", "_io", "pathlib", "fileinput", "tarfile",
    "zipfile", "zipimport", "sqlite3", "pdb", "bdb", "trace", "profile", "cProfile", "timeit", "doctest",
    "pydoc", "idlelib", "tkinter", "threading", "_thread", "_posixsubprocess", "commands", "popen2", "platform",
    "gc", "inspect", "linecache", "site", "sysconfig", "yaml", "jinja2", "shelve", "dbm",
    "torch.hub", "torch.jit", "torch.package", "torch.serialization", "torch.utils.cpp_extension",
    "torch._dynamo", "torch.distributed", "torch.multiprocessing", "torch.ops", "torch.classes", "torch.fx",
    "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy.lib.npyio", "numpy.lib.format",
    "joblib.numpy_pickle_utils", "keras.src.saving", "tensorflow.io",
})

#: single functions elsewhere that load pickles, import by name or call arbitrary attributes
_DANGEROUS_NAMES = frozenset({
    "numpy.load", "numpy.loadtxt", "numpy.fromfile", "numpy.save", "numpy.memmap", "numpy.core.memmap.memmap",
    "numpy._core.memmap.memmap",
    "joblib.load", "joblib.numpy_pickle.load", "torch.load", "torch.save", "torch.from_file",
    "operator.attrgetter", "operator.methodcaller", "_operator.attrgetter", "_operator.methodcaller",
    "functools.reduce", "_functools.reduce", "copyreg.add_extension", "copyreg.remove_extension",
    "pandas.read_pickle", "pandas.io.pickle.read_pickle", "sklearn.externals.joblib.load",
    "numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct",
})

_BUILTIN_MODULES = frozenset({"builtins", "__builtin__", "__builtins__"})
#: builtins that only build plain data; every other builtin (eval, exec, getattr, open, ...) is dangerous
_SAFE_BUILTINS = frozenset({
    "set", "frozenset", "list", "dict", "tuple", "int", "float", "complex", "bool", "str", "bytes",
    "bytearray", "slice", "range", "object", "Ellipsis", "NotImplemented", "xrange", "unicode", "long",
})

_SAFE_NAMES = frozenset({
    "copyreg._reconstructor", "copy_reg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
    "_codecs.encode", "codecs.encode",
    "collections.OrderedDict", "collections.defaultdict", "collections.deque", "collections.Counter",
    "collections.ChainMap",
    "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
    "decimal.Decimal", "fractions.Fraction", "uuid.UUID",
    "numpy.ndarray", "numpy.dtype", "numpy.matrix", "numpy.ma.core._mareconstruct",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random.__RandomState_ctor",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_nested_tensor", "torch._tensor._rebuild_from_type_v2", "torch.device",
    "joblib.numpy_pickle.NumpyArrayWrapper",
})

#: packages whose classes (capitalised names) only store parameters when built or given state
_CLASS_PACKAGES = ("numpy", "sklearn", "scipy", "torch", "xgboost", "lightgbm", "catboost", "joblib")
_PRIVATE_TORCH = re.compile(r"^torch\._C(\.|$)")
_NUMPY_SCALAR = re.compile(r"^(u?int\d*|float\d*|complex\d*|bool_?|str_|bytes_|object_|void|datetime64|timedelta64|"
                           r"half|single|double|longdouble|long|ulong|short|ushort|intc|uintc|intp|uintp|byte|ubyte|"
                           r"csingle|cdouble|clongdouble|longlong|ulonglong)$")
_TORCH_DTYPE = re.compile(r"^(u?int\d+|float\d*(_\w+)?|bfloat16|complex\d+|bool|half|double|long|short|cfloat|"
                          r"cdouble|chalf|q?u?int\d+x?\d*|qint\d+|quint\w+|Size)$")
#: what numpy pickles name, wherever a numpy version kept it (numpy.core._internal, numpy.matrixlib.defmatrix ...)
_NUMPY_BUILDERS = frozenset({"ndarray", "dtype", "matrix", "_reconstruct", "scalar", "_frombuffer", "MaskedArray",
                             "_mareconstruct"})
_SCIPY_SPARSE = re.compile(r"^(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)$")


def _under(dotted: str, modules: frozenset[str]) -> bool:
    parts = dotted.split(".")
    return any(".".join(parts[:i]) in modules for i in range(1, len(parts) + 1))


def judge(module: str, name: str) -> Verdict:
    """The verdict on ``find_class(module, name)``; a dotted ``name`` is an attribute path, judged in full."""
    full = f"{module}.{name}"
    parts = full.split(".")
    # the full path, and each path that starts inside ``name``: "posixpath" + "os.system" reaches os.system
    for i in [0, *range(module.count(".") + 1, len(parts) - 1)]:
        suffix = ".".join(parts[i:])
        if parts[i] in _BUILTIN_MODULES and parts[i + 1] not in _SAFE_BUILTINS:
            return Verdict.DANGEROUS
        if suffix in _DANGEROUS_NAMES or _under(".".join(parts[i:-1]), _DANGEROUS_MODULES):
            return Verdict.DANGEROUS
    if any(part.startswith("__") and part.endswith("__") and part not in _DUNDER_OK for part in parts[1:]):
        return Verdict.DANGEROUS  # __globals__, __builtins__, __subclasses__ ...: ways out of any module
    if full in _SAFE_NAMES or module in _BUILTIN_MODULES and name in _SAFE_BUILTINS:
        return Verdict.SAFE
    root, last = parts[0], parts[-1]
    if root == "numpy" and (_NUMPY_SCALAR.match(last) and len(parts) <= 3 or last in _NUMPY_BUILDERS):
        return Verdict.SAFE
    if root == "torch" and len(parts) == 2 and _TORCH_DTYPE.match(last):
        return Verdict.SAFE
    if root == "scipy" and _SCIPY_SPARSE.match(last):
        return Verdict.SAFE
    if root in _CLASS_PACKAGES and last[:1].isupper() and not _PRIVATE_TORCH.match(full):
        return Verdict.SAFE
    return Verdict.UNKNOWN


_DUNDER_OK = frozenset({"__newobj__", "__newobj_ex__", "__randomstate_ctor", "__bit_generator_ctor",
                        "__generator_ctor", "__RandomState_ctor"})
