/**
 * A pure-Python safetensors reader for parity scripts: Debian's python3-torch 1.13 has no `safetensors` package, and the
 * format is small (u64 little-endian header length, JSON header, raw bytes). Paste it into a `runPython` script:
 * `load_safetensors(path) -> (dict name -> torch.Tensor, metadata dict)`.
 */
export const PY_LOAD_SAFETENSORS = `
def load_safetensors(path):
    import json, struct, torch
    dtypes = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
              'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    meta = header.pop('__metadata__', {})
    # The checks huggingface/safetensors' Rust reader makes (Metadata::validate): offsets contiguous from 0 in order,
    # covering the data exactly (no gaps, no trailing bytes); metadata is a str -> str map; the header is JSON text.
    assert raw[8:9] == b'{', 'header must start with {'
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), '__metadata__ must map str to str'
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        begin, stop = info['data_offsets']
        assert begin == end, 'InvalidOffset at %s' % name
        n = 1
        for d in info['shape']: n *= d
        assert stop - begin == n * {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}[info['dtype']], 'TensorInvalidInfo %s' % name
        end = stop
    assert end == len(data), 'MetadataIncompleteBuffer'
    out = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[info['dtype']]) if end > begin else torch.zeros(0, dtype=dtypes[info['dtype']])
        out[name] = t.reshape(info['shape'])
    return out, meta
`
