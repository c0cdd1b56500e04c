"""A random-weight qwen2 GGUF of a real Qwen2.5 size, made from a small qwen2 GGUF.

For throughput benchmarks only: prompt and generation speed depend on the shapes and the
quantization type, not on the weights' values, so a 1.5B/3B/7B file can be had without
downloading one. The text it writes is gibberish.

Everything that is not a shape is copied from SOURCE (the tokenizer, the chat template,
context length, rope base, norm epsilon), so the file loads, tokenizes and templates like a
real Qwen2.5. Run through scripts/random-gguf.sh, which provides numpy and gguf==0.17.1.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import gguf

ARCH = "qwen2"

# Qwen2.5's published shapes: (embedding_length, block_count, feed_forward_length,
# attention.head_count, attention.head_count_kv).
SIZES = {
    "1.5b": (1536, 28, 8960, 12, 2),
    "3b": (2048, 36, 11008, 16, 2),
    "7b": (3584, 28, 18944, 28, 4),
}
SHAPE_KEYS = ("embedding_length", "block_count", "feed_forward_length",
              "attention.head_count", "attention.head_count_kv")

QTYPE = gguf.GGMLQuantizationType.Q8_0
SEED = 0  # fixed, so two runs give the same file
STD = 0.02  # about the spread of a trained model's weights
ROWS_PER_CHUNK = 4096  # bounds the float32 scratch to 4096 x hidden (58 MiB at 7B)


def tensor_shapes(hidden: int, ffn: int, heads: int, kv_heads: int, vocab: int) -> dict[str, list[int]]:
    """Shapes, in ggml order ([ne0, ne1] = [inputs, outputs]), keyed by the name without blk.N."""
    kv = hidden // heads * kv_heads
    return {
        "token_embd.weight": [hidden, vocab],
        "output.weight": [hidden, vocab],
        "output_norm.weight": [hidden],
        "attn_norm.weight": [hidden],
        "attn_q.weight": [hidden, hidden],
        "attn_k.weight": [hidden, kv],
        "attn_v.weight": [hidden, kv],
        "attn_q.bias": [hidden],
        "attn_k.bias": [kv],
        "attn_v.bias": [kv],
        "attn_output.weight": [hidden, hidden],
        "ffn_norm.weight": [hidden],
        "ffn_gate.weight": [hidden, ffn],
        "ffn_up.weight": [hidden, ffn],
        "ffn_down.weight": [ffn, hidden],
    }


def role(name: str) -> str:
    """blk.7.attn_q.weight -> attn_q.weight; top-level names stay as they are."""
    return name.split(".", 2)[2] if name.startswith("blk.") else name


def field_value(field: gguf.ReaderField):
    """A metadata value and its (type, array element type), as GGUFWriter.add_key_value wants them."""
    vtype = gguf.GGUFValueType(field.types[0])
    sub_type = gguf.GGUFValueType(field.types[-1]) if vtype == gguf.GGUFValueType.ARRAY else None
    if sub_type == gguf.GGUFValueType.ARRAY:
        sys.exit(f"{field.name}: nested arrays are not handled")
    return field.contents(), vtype, sub_type


def random_q8_0(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    """A normal(0, STD) matrix, quantized a slice of rows at a time so memory stays bounded.

    shape is in ggml order; numpy's is the reverse (rows = outputs, each row contiguous).
    """
    cols, rows = shape
    out = np.empty((rows, gguf.quants.quant_shape_to_byte_shape((cols,), QTYPE)[0]), dtype=np.uint8)
    for start in range(0, rows, ROWS_PER_CHUNK):
        n = min(ROWS_PER_CHUNK, rows - start)
        chunk = rng.standard_normal((n, cols), dtype=np.float32)
        chunk *= STD
        out[start:start + n] = gguf.quants.quantize(chunk, QTYPE)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="a qwen2 GGUF to take the tokenizer and metadata from")
    ap.add_argument("out", help="the GGUF to write")
    ap.add_argument("--size", choices=sorted(SIZES), default="1.5b")
    args = ap.parse_args()

    src = gguf.GGUFReader(args.source)
    arch = src.fields["general.architecture"].contents()
    if arch != ARCH:
        sys.exit(f"{args.source}: architecture {arch!r}, want {ARCH!r}")

    def src_int(key: str) -> int:
        return int(src.fields[f"{ARCH}.{key}"].contents())

    vocab = len(src.fields["tokenizer.ggml.tokens"].data)
    hidden, blocks, ffn, heads, kv_heads = SIZES[args.size]

    # Check that the source's tensors have the shapes tensor_shapes() gives for the source's own
    # sizes, so the conventions (ggml order, which side is the input) are the ones written.
    src_shapes = tensor_shapes(src_int("embedding_length"), src_int("feed_forward_length"),
                               src_int("attention.head_count"), src_int("attention.head_count_kv"), vocab)
    for t in src.tensors:
        want = src_shapes.get(role(t.name))
        if want is None or t.shape.tolist() != want:
            sys.exit(f"{args.source}: unexpected tensor {t.name} {t.shape.tolist()} (expected {want})")

    writer = gguf.GGUFWriter(args.out, ARCH)  # adds general.architecture itself

    # Metadata: everything but the shapes and the three keys set below. GGUF.* are the reader's
    # view of the file header, not keys.
    replaced = {f"{ARCH}.{k}" for k in SHAPE_KEYS} | {
        gguf.Keys.General.NAME, gguf.Keys.General.SIZE_LABEL, gguf.Keys.General.FILE_TYPE}
    for key, field in src.fields.items():
        if key.startswith("GGUF.") or key == gguf.Keys.General.ARCHITECTURE or key in replaced:
            continue
        writer.add_key_value(key, *field_value(field))
    for key, value in zip(SHAPE_KEYS, SIZES[args.size]):
        writer.add_uint32(f"{ARCH}.{key}", value)
    # A name that says what this is, and the file type llama.cpp reports (not the source's Q4_K_M).
    writer.add_name(f"random-weight {ARCH} {args.size.upper()} (benchmarks only)")
    writer.add_size_label(args.size.upper())
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)

    # The same tensor names as the source (so output.weight only if the source has its own),
    # in the source's order, with its blk.0 set repeated for each block.
    shapes = tensor_shapes(hidden, ffn, heads, kv_heads, vocab)
    block_roles = [role(t.name) for t in src.tensors if t.name.startswith("blk.0.")]
    names: list[str] = []
    for t in src.tensors:
        if not t.name.startswith("blk."):
            names.append(t.name)
        elif t.name == f"blk.0.{block_roles[0]}":
            names += [f"blk.{b}.{r}" for b in range(blocks) for r in block_roles]

    # Declare every tensor first and stream the data after the header: GGUFWriter.add_tensor
    # would keep all of it in memory (or in a temporary file) until the end.
    for name in names:
        shape = shapes[role(name)]
        if len(shape) == 1:  # norm weights and biases stay F32, as in the source
            writer.add_tensor_info(name, shape, np.dtype(np.float32), shape[0] * 4)
        else:
            byte_shape = gguf.quants.quant_shape_to_byte_shape(shape[::-1], QTYPE)
            writer.add_tensor_info(name, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)),
                                   raw_dtype=QTYPE)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()

    rng = np.random.default_rng(SEED)
    for i, name in enumerate(names):
        shape = shapes[role(name)]
        if len(shape) == 2:
            data = random_q8_0(rng, shape)
        elif name.endswith("_norm.weight"):
            data = np.ones(shape, dtype=np.float32)  # RMS norm scale 1: leaves activations as they are
        else:
            data = np.zeros(shape, dtype=np.float32)
        writer.write_tensor_data(data)
        if sys.stderr.isatty():  # progress: a 7B takes minutes
            print(f"\r{i + 1}/{len(names)} tensors", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    writer.close()

    print(f"{args.out}: {args.size} ({blocks} blocks, hidden {hidden}), {len(names)} tensors, "
          f"{os.path.getsize(args.out) / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
