#!/usr/bin/env python3
"""Proof-of-GPU kernel of the idlegrid agent.

Reproduces the challenge of packages/economics/src/freivalds.ts exactly: the two n×n
matrices A and B derived from the seed (entries in [0, 16)), C = A×B mod 65521, and one
"<sketch>:<digest>" checksum per row of C. The product runs on the GPU (torch, else cupy)
and only the product is timed (synchronized); with --device cpu, or when no CUDA device
is usable, numpy computes it on the CPU and says so in "device".

Exactness: entries of A×B are at most 225·n < 2^24 for n ≤ 16384, so fp16 or tf32 inputs
with fp32 accumulation give the exact integers, as does float32 on the CPU.

Usage: pogpu.py --seed HEX64 --n N [--device auto|cuda|cpu]
Prints one JSON object: {"checksums": [...], "elapsedMs": float, "device": str}.
"""

import argparse
import hashlib
import json
import sys
import time

import numpy as np

P = 65521
DOMAIN = b"idlegrid/pogpu/v1/"


def stream(seed: bytes, label: str, nbytes: int) -> bytes:
    """The first nbytes of sha256(DOMAIN + label || seed || k as 4-byte big-endian), k = 0, 1, …"""
    base = hashlib.sha256(DOMAIN + label.encode() + seed)
    blocks = []
    for k in range((nbytes + 31) // 32):
        h = base.copy()
        h.update(k.to_bytes(4, "big"))
        blocks.append(h.digest())
    return b"".join(blocks)[:nbytes]


def nibble_matrix(seed: bytes, label: str, n: int) -> np.ndarray:
    count = n * n
    raw = np.frombuffer(stream(seed, label, (count + 1) // 2), dtype=np.uint8)
    out = np.empty(raw.size * 2, dtype=np.uint8)
    out[0::2] = raw >> 4
    out[1::2] = raw & 15
    return out[:count].reshape(n, n)


def sketch_vector(seed: bytes, n: int) -> np.ndarray:
    """n words < P from stream "w" (2-byte big-endian, words ≥ P skipped)."""
    words = np.empty(0, dtype=np.int64)
    nbytes = 2 * n + 64
    while words.size < n:
        data = stream(seed, "w", nbytes)
        all_words = np.frombuffer(data[: len(data) // 2 * 2], dtype=">u2").astype(np.int64)
        words = all_words[all_words < P]
        nbytes *= 2
    return words[:n]


def checksums(seed: bytes, c: np.ndarray, w: np.ndarray) -> list:
    """c: n×n int64 entries in [0, P)."""
    sketches = (c @ w) % P
    rows = c.astype("<u4")
    prefix = hashlib.sha256(DOMAIN + b"row" + seed)
    out = []
    for i in range(c.shape[0]):
        h = prefix.copy()
        h.update(i.to_bytes(4, "big"))
        h.update(rows[i].tobytes())
        out.append(f"{int(sketches[i])}:{h.hexdigest()[:16]}")
    return out


def multiply_torch(a: np.ndarray, b: np.ndarray):
    import torch

    if not torch.cuda.is_available():
        return None
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True  # 4-bit integer inputs are exact in tf32
    ta = torch.from_numpy(a).to(dev, torch.float16)
    tb = torch.from_numpy(b).to(dev, torch.float16)

    def product():
        try:
            return torch.mm(ta, tb, out_dtype=torch.float32)  # fp16 inputs, fp32 result (torch ≥ 2.8)
        except (TypeError, RuntimeError):
            return torch.mm(ta.float(), tb.float())  # tf32 tensor cores, fp32 accumulate

    product()  # warm up: cuBLAS handle and kernel selection are not part of the work
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    c = product()
    end.record()
    torch.cuda.synchronize()
    elapsed = float(start.elapsed_time(end))
    c_mod = (c.to(torch.int64) % P).cpu().numpy()
    return c_mod, elapsed, "cuda:" + torch.cuda.get_device_name(0)


def multiply_cupy(a: np.ndarray, b: np.ndarray):
    import cupy

    if cupy.cuda.runtime.getDeviceCount() < 1:
        return None
    ga = cupy.asarray(a, dtype=cupy.float32)
    gb = cupy.asarray(b, dtype=cupy.float32)
    cupy.matmul(ga, gb)
    cupy.cuda.Device().synchronize()
    start = cupy.cuda.Event()
    end = cupy.cuda.Event()
    start.record()
    c = cupy.matmul(ga, gb)
    end.record()
    end.synchronize()
    elapsed = float(cupy.cuda.get_elapsed_time(start, end))
    c_mod = cupy.asnumpy(c.astype(cupy.int64) % P)
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return c_mod, elapsed, "cuda:" + name


def multiply_cpu(a: np.ndarray, b: np.ndarray):
    fa = a.astype(np.float32)
    fb = b.astype(np.float32)
    start = time.perf_counter()
    c = fa @ fb
    elapsed = (time.perf_counter() - start) * 1000.0
    return c.astype(np.int64) % P, elapsed, "cpu"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", required=True, help="64 hex digits")
    parser.add_argument("--n", required=True, type=int)
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    args = parser.parse_args()
    seed = bytes.fromhex(args.seed)
    if len(seed) != 32 or not 1 <= args.n <= 16384:
        print("seed must be 32 bytes (64 hex digits) and n from 1 to 16384", file=sys.stderr)
        return 2
    a = nibble_matrix(seed, "A", args.n)
    b = nibble_matrix(seed, "B", args.n)
    result = None
    notes = []
    if args.device != "cpu":
        for backend in (multiply_torch, multiply_cupy):
            try:
                result = backend(a, b)
            except ImportError:
                result = None
            except Exception as err:  # a broken CUDA install must not hide the CPU fallback
                notes.append(f"{backend.__name__}: {err}")
                result = None
            if result is not None:
                break
        if result is None and args.device == "cuda":
            print("no usable CUDA device (torch or cupy): " + "; ".join(notes), file=sys.stderr)
            return 3
    if result is None:
        result = multiply_cpu(a, b)
    c_mod, elapsed, device = result
    out = {"checksums": checksums(seed, c_mod, sketch_vector(seed, args.n)), "elapsedMs": elapsed, "device": device}
    if notes:
        out["notes"] = notes
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
