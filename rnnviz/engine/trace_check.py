"""Reading a trace file defensively: size limits before decompressing, then every key, dtype, shape
and metadata type checked, with one error type (TraceFileError) naming the file and the field.

A file may come from anyone, so nothing in it is trusted: object arrays are refused from their
header (nothing is unpickled), each member's declared size is read from the zip directory and
from its .npy header before a byte is inflated, and the arrays must agree on (L, D, T, B, H).
Adding an optional array to the format is one line in ARRAY_RULES.
"""
from __future__ import annotations

import json
import lzma
import math
import os
import struct
import zipfile
import zlib

import numpy as np

FORMAT = "rnnviz-trace"
FORMAT_VERSION = 1
DEFAULT_MAX_BYTES = 2 * 1024**3
MAX_BYTES_ENV = "RNNVIZ_TRACE_MAX_BYTES"


class TraceFileError(ValueError):
    """A trace file that cannot be read or written: names the file and what is wrong, on one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).splitlines()))  # a library's multi-line text, flattened


# Shape rules: each entry is a dimension. "L", "D", "T", "B", "H" are the trace's own sizes (from
# `hidden`), "LD" is L*D, "DH" is D*H, "*" is any size >= 1, a trailing "..." any further dims.
# A rule may depend on the metadata (cells, batch_first, custom modules), hence the callables.
def _time_batch(meta, tail):
    return ("B", "T", *tail) if meta["batch_first"] else ("T", "B", *tail)


def _output_rule(meta):
    if meta["kind"] not in ("rnn", "gru", "lstm"):
        return ("T", "...")
    return _time_batch(meta, ("DH",))


def _inputs_rule(meta):
    if meta["kind"] not in ("rnn", "gru", "lstm"):
        return ("T", "...")
    return _time_batch(meta, ("*",))


def _final_state_rule(meta):
    return ("B", "H") if meta["is_cell"] or meta["kind"] not in ("rnn", "gru", "lstm") else ("LD", "B", "H")


FLOAT, NUMBER = "floating point", "numeric"
GRID = ("L", "D", "T", "B", "H")
PER_STEP = ("L", "D", "T")
ARRAY_RULES = {
    # name: (shape rule, dtype class, may be empty because not computed yet)
    "hidden": (GRID, FLOAT, False),
    "hidden_grad": (GRID, FLOAT, False),
    "cell": (GRID, FLOAT, False),
    "gate/*": (GRID, FLOAT, False),
    "hidden_norm": (PER_STEP, FLOAT, False),
    "grad_norm": (PER_STEP, FLOAT, False),
    "saturation": (PER_STEP, FLOAT, False),
    "whh_grad_contrib_norm": (PER_STEP, FLOAT, False),
    "wih_grad_contrib_norm": (PER_STEP, FLOAT, False),
    "step_ms": (("*",), FLOAT, False),
    "head_output": (("T", "B", "*"), FLOAT, False),
    "output": (_output_rule, FLOAT, True),
    "inputs": (_inputs_rule, NUMBER, False),
    "h_n": (_final_state_rule, FLOAT, False),
    "c_n": (_final_state_rule, FLOAT, False),
    "h0": (("LD", "B", "*"), FLOAT, False), "c0": (("LD", "B", "*"), FLOAT, False),  # own-model parts, cells too
    "param_grad/*": (("...",), FLOAT, False),
    "packed_lengths": (("B",), NUMBER, False),
}
# A field the Trace knows but this table does not still gets the generic checks.
GENERIC_RULE = (("...",), NUMBER, True)
GATE_NAMES = {"rnn": {"A"}, "gru": {"R", "Z", "N"}, "lstm": {"I", "F", "G", "O"}}
RECORD_CELL_KEYS = ("phase", "layer", "direction", "t")


# What zipfile, its decompressors and numpy's header parser raise on damaged bytes (found by fuzzing:
# "zip file version 6.4" is a NotImplementedError, an encrypted member a RuntimeError).
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, KeyError, TypeError,
               SyntaxError, NotImplementedError, RuntimeError, struct.error, zlib.error, lzma.LZMAError)


def max_trace_bytes() -> int:
    """The unpacked-size limit: $RNNVIZ_TRACE_MAX_BYTES when set, else 2 GiB."""
    value = os.environ.get(MAX_BYTES_ENV, "")
    return int(value) if value.strip().isdigit() else DEFAULT_MAX_BYTES


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def read_arrays(name: str, path, max_bytes: int) -> dict:
    """Every member of the .npz as an array, after checking declared sizes and dtypes from the headers."""
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        raise TraceFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    except READ_ERRORS as exc:
        raise TraceFileError(f"{name}: not an rnnviz trace (.npz) file ({exc})") from None
    with archive:
        infos = archive.infolist()
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            raise TraceFileError(f"{name}: declares {_size(declared)} of arrays, over the limit of {_size(max_bytes)} "
                                 f"(set {MAX_BYTES_ENV} to allow more)")
        contents, total = {}, 0
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise TraceFileError(f"{name}: unexpected member {info.filename!r} (a trace holds .npy arrays only)")
            key = info.filename[:-4]
            try:
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member, max_header_size=10000)
                    field = f"field {key!r}"
                    if dtype.hasobject:
                        raise TraceFileError(f"{name}: {field} is an object array (refused: it would need unpickling)")
                    nbytes = math.prod(shape) * dtype.itemsize
                    total += nbytes
                    if nbytes > info.file_size or total > max_bytes:
                        raise TraceFileError(f"{name}: {field} declares {shape} {dtype} ({_size(nbytes)}), more than "
                                             f"the file holds or over the limit of {_size(max_bytes)}")
                    member.seek(0)
                    contents[key] = np.lib.format.read_array(member, allow_pickle=False)
            except TraceFileError:
                raise
            except READ_ERRORS as exc:
                raise TraceFileError(f"{name}: field {key!r} is corrupt or truncated ({exc})") from None
    return contents


# -- metadata ---------------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


META_TYPES = {
    # key: (check, what is expected, default)
    "kind": (lambda v: isinstance(v, str), "a string", "custom"),
    "is_cell": (lambda v: isinstance(v, bool), "true or false", False),
    "nonlinearity": (lambda v: isinstance(v, str), "a string", "tanh"),
    "batch_first": (lambda v: isinstance(v, bool), "true or false", False),
    "loss": (lambda v: v is None or _is_number(v), "a number or null", None),
    "loss_name": (lambda v: isinstance(v, str), "a string", "sum"),
    "device": (lambda v: isinstance(v, str), "a string", "cpu"),
    "records": (lambda v: isinstance(v, list), "a list", []),
    "operands": (lambda v: isinstance(v, list), "a list", []),
    "equation": (lambda v: isinstance(v, str), "a string", ""),
    "spec": (lambda v: v is None or isinstance(v, dict), "an object or null", None),
    "first_nonfinite": (lambda v: v is None or isinstance(v, dict), "an object or null", None),
    "module_path": (lambda v: isinstance(v, str), "a string", ""),
    "train_mode": (lambda v: isinstance(v, bool), "true or false", False),
    "config": (lambda v: isinstance(v, dict), "an object", {}),
    "notes": (lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v), "a list of strings", []),
}


def check_meta(name: str, raw) -> dict:
    """The parsed `meta` entry with every known key type-checked and defaults filled in."""
    try:
        text = str(raw[()]) if isinstance(raw, np.ndarray) and raw.dtype.kind in "US" and raw.ndim == 0 else None
        if text is None:
            raise TypeError("'meta' must be one JSON string")
        meta = json.loads(text)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise TraceFileError(f"{name}: unreadable metadata ({exc})") from None

    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise TraceFileError(f"{name}: not an rnnviz trace (format is {found!r})")
    version = meta.get("format_version")
    if not _is_int(version) or version < 1:
        raise TraceFileError(f"{name}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise TraceFileError(
            f"{name}: written by a newer rnnviz (trace format {version}; this rnnviz reads up to {FORMAT_VERSION}); upgrade rnnviz")
    checked = dict(meta)
    for key, (ok, expected, default) in META_TYPES.items():
        if key not in meta:
            checked[key] = default
        elif not ok(meta[key]):
            raise TraceFileError(f"{name}: metadata {key!r} must be {expected}, got {meta[key]!r:.60}")
    if checked["loss"] is None:
        checked["loss"] = float("nan")
    return checked


def _check_records(name: str, records: list, dims: dict) -> None:
    limits = {"layer": dims["L"], "direction": dims["D"], "t": dims["T"]}
    if len(records) > 2 * dims["L"] * dims["D"] * dims["T"]:
        raise TraceFileError(f"{name}: metadata 'records' has {len(records)} entries, more than the run's "
                             f"{2 * dims['L'] * dims['D'] * dims['T']} cells")
    for index, record in enumerate(records):
        where = f"metadata 'records[{index}]'"
        if not isinstance(record, dict):
            raise TraceFileError(f"{name}: {where} must be an object, got {record!r:.60}")
        if record.get("phase") not in ("forward", "backward"):
            raise TraceFileError(f"{name}: {where}.phase must be 'forward' or 'backward', got {record.get('phase')!r:.60}")
        for key, limit in limits.items():
            value = record.get(key)
            if not _is_int(value) or not 0 <= value < limit:
                raise TraceFileError(f"{name}: {where}.{key} must be an integer in [0, {limit - 1}], got {value!r:.60}")
        for key, value in record.items():
            if key not in RECORD_CELL_KEYS and not (value is None or isinstance(value, (int, float, str))):
                raise TraceFileError(f"{name}: {where}.{key!r:.40} must be a number, text or null, got {value!r:.60}")


def _check_operands(name: str, operands: list, num_layers: int) -> None:
    if len(operands) > num_layers:
        raise TraceFileError(f"{name}: metadata 'operands' has {len(operands)} layers, the arrays {num_layers}")
    for layer, entries in enumerate(operands):
        if not isinstance(entries, list):
            raise TraceFileError(f"{name}: metadata 'operands[{layer}]' must be a list, got {entries!r:.60}")
        for index, entry in enumerate(entries):
            where = f"metadata 'operands[{layer}][{index}]'"
            ok = (isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("name", "dtype", "device"))
                  and isinstance(entry.get("shape"), list) and all(_is_int(s) and s >= 0 for s in entry["shape"]))
            if not ok:
                raise TraceFileError(f"{name}: {where} must be {{name, shape: [ints], dtype, device}}, got {entry!r:.80}")


def _check_first_nonfinite(name: str, where, dims: dict) -> None:
    if where is None:
        return
    ok = isinstance(where.get("tensor"), str) and all(
        _is_int(where.get(k)) and 0 <= where[k] < dims[d] for k, d in (("layer", "L"), ("direction", "D"), ("t", "T")))
    if not ok:
        raise TraceFileError(f"{name}: metadata 'first_nonfinite' must be {{tensor, layer, direction, t}} within the "
                             f"trace, got {where!r:.80}")


# -- arrays -----------------------------------------------------------------------------------
def _rule_for(key: str, known_fields) -> tuple | None:
    if key in ARRAY_RULES:
        return ARRAY_RULES[key]
    prefix = key.split("/", 1)[0] + "/*" if "/" in key else None
    if prefix in ARRAY_RULES and key != prefix[:-1]:
        return ARRAY_RULES[prefix]
    if key in known_fields:
        return GENERIC_RULE
    return None


def _expected_shape(pattern, dims: dict, actual: tuple) -> tuple | None:
    """The shape `pattern` asks for, filling '*' and '...' from `actual`; None when ranks differ."""
    open_end = pattern and pattern[-1] == "..."
    fixed = pattern[:-1] if open_end else pattern
    if len(actual) < len(fixed) or (not open_end and len(actual) != len(fixed)):
        return None
    sizes = dict(dims, LD=dims["L"] * dims["D"], DH=dims["D"] * dims["H"])
    expected = tuple(actual[i] if p == "*" else sizes[p] for i, p in enumerate(fixed))
    return expected + tuple(actual[len(fixed):])


def _pattern_text(pattern) -> str:
    return "(" + ", ".join(pattern) + ")"


def check_arrays(name: str, contents: dict, meta: dict, known_fields) -> dict:
    """Every array's key, dtype and shape against `hidden`'s (L, D, T, B, H); returns the dims."""
    for key in ("inputs", "output", "hidden", "hidden_grad"):
        if key not in contents:
            raise TraceFileError(f"{name}: missing array {key!r}")
    hidden = contents["hidden"]
    if hidden.ndim != 5:
        raise TraceFileError(f"{name}: field 'hidden' must be (L, D, T, B, H), got shape {hidden.shape}")
    if 0 in hidden.shape:
        raise TraceFileError(f"{name}: field 'hidden' has a zero dimension {hidden.shape} (L, D, T, B, H must all be >= 1)")
    dims = dict(zip("LDTBH", hidden.shape))
    if dims["D"] > 2:
        raise TraceFileError(f"{name}: field 'hidden' has {dims['D']} directions (1 or 2 allowed)")
    for key, values in contents.items():
        rule = _rule_for(key, known_fields)
        if rule is None:
            raise TraceFileError(f"{name}: unknown field {key!r}")
        pattern, dtype_class, may_be_empty = rule
        pattern = pattern(meta) if callable(pattern) else pattern
        kind = values.dtype.kind
        if (dtype_class == FLOAT and kind != "f") or (dtype_class == NUMBER and kind not in "biuf"):
            raise TraceFileError(f"{name}: field {key!r} must be a {dtype_class} array, got dtype {values.dtype}")
        if may_be_empty and values.size == 0 and values.ndim == 1:
            continue   # not computed yet (a run saved before its forward pass ended)
        expected = _expected_shape(pattern, dims, values.shape)
        if expected is None or expected != values.shape:
            raise TraceFileError(f"{name}: field {key!r} must be {_pattern_text(pattern)} = "
                                 f"{expected or _pattern_text(pattern)} for hidden {hidden.shape}, got {values.shape}")
        if values.size == 0:
            raise TraceFileError(f"{name}: field {key!r} has a zero dimension {values.shape}")
    gates = {key.split("/", 1)[1] for key in contents if key.startswith("gate/")}
    allowed = GATE_NAMES.get(meta["kind"])
    if allowed is not None and not gates <= allowed:
        raise TraceFileError(f"{name}: gate(s) {', '.join(sorted(gates - allowed))} do not belong to a {meta['kind']}")
    return dims


def check_meta_against(name: str, meta: dict, dims: dict):
    """Records, operands, spec and first_nonfinite against the arrays; returns the RNNSpec or None."""
    _check_records(name, meta["records"], dims)
    _check_operands(name, meta["operands"], dims["L"])
    _check_first_nonfinite(name, meta["first_nonfinite"], dims)
    if meta["spec"] is None:
        return None
    from .spec import RNNSpec, SpecError

    try:
        spec = RNNSpec.from_dict(meta["spec"])
    except (SpecError, TypeError) as exc:
        raise TraceFileError(f"{name}: invalid spec in metadata ({exc})") from None
    found = {"num_layers": dims["L"], "num_directions": dims["D"], "seq_len": dims["T"], "batch_size": dims["B"],
             "hidden_size": dims["H"]}
    for key, size in found.items():
        if getattr(spec, key) != size:
            raise TraceFileError(f"{name}: metadata spec {key} = {getattr(spec, key)} disagrees with the arrays ({size})")
    return spec
