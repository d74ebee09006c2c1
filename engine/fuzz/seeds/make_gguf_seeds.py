#!/usr/bin/env python3
"""Writes small GGUF seeds for the gguf_header fuzz target (a llama header with a tokenizer
array and two tiny F32 tensors, in versions 1-3, plus variants), and the regression inputs
that once panicked GgufFile::open (regression-*). Usage: make_gguf_seeds.py DIR"""
import struct, sys, os

def s(v, ver):  # string
    b = v.encode()
    return (struct.pack('<I', len(b)) if ver == 1 else struct.pack('<Q', len(b))) + b

def n(x, ver):  # length/count
    return struct.pack('<I', x) if ver == 1 else struct.pack('<Q', x)

def kv(key, ty, val, ver):
    return s(key, ver) + struct.pack('<I', ty) + val

def header(ver, arch='llama', align=32, tensors=True, extra=b'', extra_n=0, infos=None,
           align_key='general.alignment'):
    u32 = lambda x: struct.pack('<I', x)
    f32 = lambda x: struct.pack('<f', x)
    toks = [f'<t{i}>' for i in range(8)]
    arr = u32(8) + n(len(toks), ver) + b''.join(s(t, ver) for t in toks)
    meta = [
        kv('general.architecture', 8, s(arch, ver), ver),
        kv(align_key, 4, u32(align), ver),
        kv('llama.embedding_length', 4, u32(64), ver),
        kv('llama.attention.head_count', 4, u32(4), ver),
        kv('llama.attention.head_count_kv', 4, u32(2), ver),
        kv('llama.block_count', 4, u32(1), ver),
        kv('llama.feed_forward_length', 4, u32(128), ver),
        kv('llama.context_length', 10, struct.pack('<Q', 1024), ver),
        kv('llama.rope.freq_base', 6, f32(10000.0), ver),
        kv('llama.attention.layer_norm_rms_epsilon', 6, f32(1e-5), ver),
        kv('tokenizer.ggml.tokens', 9, arr, ver),
        kv('tokenizer.ggml.bos_token_id', 4, u32(1), ver),
    ]
    # name, dims (ggml order), dtype (0 = F32), offset
    if infos is None:
        infos = [('output_norm.weight', [64], 0, 0), ('token_embd.weight', [64, 8], 0, 256)] if tensors else []
    body = b''
    for name, dims, dt, off in infos:
        body += s(name, ver) + u32(len(dims))
        body += b''.join((u32(d) if ver == 1 else struct.pack('<Q', d)) for d in dims)
        body += u32(dt) + struct.pack('<Q', off)
    out = b'GGUF' + u32(ver) + n(len(infos), ver) + n(len(meta) + extra_n, ver) + b''.join(meta) + extra + body
    out += b'\0' * (-len(out) % max(align, 1))
    if tensors:
        out += struct.pack('<64f', *[1.0] * 64) + struct.pack('<512f', *[0.01 * i for i in range(512)])
    return out

def main(d):
    os.makedirs(d, exist_ok=True)
    seeds = {
        'llama-v3.gguf': header(3),
        'llama-v2.gguf': header(2),
        'llama-v1.gguf': header(1),
        'no-tensors.gguf': header(3, tensors=False),
        'not-llama.gguf': header(3, arch='gpt2', tensors=False),
        'nested-array.gguf': header(3, tensors=False, extra_n=1, extra=kv('x.nested', 9,
            struct.pack('<I', 9) + struct.pack('<Q', 2) + (struct.pack('<I', 4) + struct.pack('<Q', 1) + struct.pack('<I', 7)) * 2, 3)),
    }
    big = 1 << 32
    seeds.update({
        # candle divides by general.alignment unchecked
        'regression-alignment-zero.gguf': header(3, align=0, tensors=False),
        # candle drops trailing NULs from keys: this is general.alignment too
        'regression-alignment-zero-nul-key.gguf': header(3, align=0, tensors=False, align_key='general.alignment\0\0'),
        # offset + size overflowed u64 in the truncation check
        'regression-offset-overflow.gguf': header(3, tensors=False, infos=[('output_norm.weight', [64], 0, (1 << 64) - 16)]),
        # the element count overflowed usize
        'regression-dims-overflow.gguf': header(3, tensors=False, infos=[('token_embd.weight', [big, big, big], 0, 0)]),
    })
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)

main(sys.argv[1])
