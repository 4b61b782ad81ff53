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
    out = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[info['dtype']]) if end > begin else torch.zeros(0, dtype=dtypes[info['dtype']])
        out[name] = t.reshape(info['shape'])
    return out, meta
`
