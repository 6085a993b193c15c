"""The rules of the model-artifact scanner (ids ``FSA0nn``: stable, CI suppressions key on them)."""

from __future__ import annotations

from foresight.security.findings import RULES, Level, Rule

__all__ = ["BOMB", "CUSTOM_MODULE", "DANGEROUS_GLOBAL", "DYNAMIC_GLOBAL", "EXTENSION_CODE", "KERAS_LAMBDA",
           "MALFORMED", "OBJECT_ARRAY", "ONNX_PATH", "SAFETENSORS_HEADER", "UNKNOWN_GLOBAL"]

_LOAD = ("Loading a pickle (PyTorch .pt/.bin, joblib, scikit-learn, NumPy object arrays) imports every global "
         "it names and calls it: a model file is a program.")

DANGEROUS_GLOBAL = RULES.add(Rule(
    "FSA001", "pickle-dangerous-global", "A pickle imports a callable that runs code, commands, files or network.",
    f"{_LOAD} This one names a callable that can run commands or code, touch files or the network, or load "
    "another pickle (os, subprocess, builtins.eval/exec/getattr/__import__, runpy, socket, pickle.loads ...). "
    "Do not load it; rebuild the model from trusted code, or save weights as safetensors.", 502, Level.ERROR))
UNKNOWN_GLOBAL = RULES.add(Rule(
    "FSA002", "pickle-unknown-global", "A pickle imports a callable outside the allowlist of model classes.",
    f"{_LOAD} This global is neither a known model/array class nor known to be dangerous. Check what it "
    "does when called with attacker-chosen arguments before loading the file.", 502, Level.WARNING))
DYNAMIC_GLOBAL = RULES.add(Rule(
    "FSA003", "pickle-dynamic-global", "A pickle imports a global whose name is computed while loading.",
    "STACK_GLOBAL took a module or name that is not a constant string (it is the result of a call made "
    "while loading), a way to hide what is imported. Treat the file as malicious.", 502, Level.ERROR))
EXTENSION_CODE = RULES.add(Rule(
    "FSA004", "pickle-extension-code", "A pickle imports a global through the copyreg extension registry.",
    "EXT1/EXT2/EXT4 name a global by a number registered with copyreg.add_extension in the loading process: "
    "what it imports depends on that process. Model libraries never write these.", 502, Level.WARNING))
MALFORMED = RULES.add(Rule(
    "FSA005", "artifact-unreadable", "An artifact could not be parsed completely, so it is not shown safe.",
    "The scanner fails closed: truncated or malformed pickles, archives with unreadable members, encrypted "
    "or unsupported compression, corrupt headers. Loaders may still run the part before the damage. "
    "Re-export the artifact, or inspect it by hand.", 20, Level.ERROR))
BOMB = RULES.add(Rule(
    "FSA006", "artifact-expands-too-far", "A compressed artifact expands beyond the scanner's limit.",
    "A member or stream decompresses to more than the limit (or nests too deep): a decompression bomb, or a "
    "model larger than the limit. It was not inspected past the limit.", 409, Level.ERROR))
KERAS_LAMBDA = RULES.add(Rule(
    "FSA007", "keras-lambda-layer", "A Keras model holds a Lambda layer (serialised Python bytecode).",
    "A Lambda layer stores a Python function as marshalled bytecode that runs when the model is loaded "
    "with safe_mode off or called. Replace it with a registered custom layer.", 94, Level.ERROR))
CUSTOM_MODULE = RULES.add(Rule(
    "FSA008", "keras-custom-module", "A Keras model config names a class from a module outside Keras.",
    "Loading imports that module and builds the class from the config. Make sure it is your code.", 94,
    Level.WARNING))
ONNX_PATH = RULES.add(Rule(
    "FSA009", "onnx-external-data-escape", "An ONNX tensor's external data path leaves the model's folder.",
    "ONNX loads external tensor data from the path in external_data 'location'. An absolute path, '..', "
    "a drive or a URL reads files outside the model's folder (path traversal).", 22, Level.ERROR))
SAFETENSORS_HEADER = RULES.add(Rule(
    "FSA010", "safetensors-bad-header", "A safetensors file's header is inconsistent.",
    "The header length, JSON header, dtypes, shapes or data offsets do not agree with the file: loaders "
    "may read out of bounds or allocate without limit.", 20, Level.ERROR))
OBJECT_ARRAY = RULES.add(Rule(
    "FSA011", "numpy-object-array", "A NumPy array holds Python objects (loading needs allow_pickle=True).",
    "Object arrays are stored as a pickle; its globals are judged by FSA001-FSA004. Prefer numeric dtypes.",
    502, Level.NOTE))
