import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { runPython } from '@tinylab/test-utils/torch'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { crc32c } from '../src/_crc32c'
import { encodeEvent, readScalarsCsv, readScalarsJsonl, readTfRecords, runDirName, scalarValue, scalarsFromEvent, SummaryWriter, encodeTfRecord } from '../src/index'

// The subset of TensorBoard's official schema our writer emits, copied field for field from tensorflow/tensorboard:
// compat/proto/event.proto, summary.proto, histogram.proto, tensor.proto, tensor_shape.proto, types.proto,
// plugins/hparams/plugin_data.proto, api.proto and google/protobuf/struct.proto. Decoding with protobufjs against it
// checks our hand-written encoder independently.
const SCHEMA = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; bytes graph_def = 4; Summary summary = 5; }
}
message SummaryMetadata {
  message PluginData { string plugin_name = 1; bytes content = 2; }
  PluginData plugin_data = 1; string display_name = 2; string summary_description = 3; int32 data_class = 4;
}
message HistogramProto {
  double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true]; repeated double bucket = 7 [packed = true];
}
message TensorShapeProto { message Dim { int64 size = 1; string name = 2; } repeated Dim dim = 2; bool unknown_rank = 3; }
message TensorProto { int32 dtype = 1; TensorShapeProto tensor_shape = 2; int32 version_number = 3; bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true]; repeated bytes string_val = 8; }
message Summary {
  message Value {
    string node_name = 7; string tag = 1; SummaryMetadata metadata = 9;
    oneof value { float simple_value = 2; bytes obsolete_old_style_histogram = 3; HistogramProto histo = 5; TensorProto tensor = 8; }
  }
  repeated Value value = 1;
}
message ProtoValue { oneof kind { int32 null_value = 1; double number_value = 2; string string_value = 3; bool bool_value = 4; } }
message MetricName { string group = 1; string tag = 2; }
message MetricInfo { MetricName name = 1; string display_name = 3; string description = 4; int32 dataset_type = 5; }
message HParamInfo { string name = 1; string display_name = 2; string description = 3; int32 type = 4; }
message Experiment { string name = 6; string description = 1; string user = 2; double time_created_secs = 3;
  repeated HParamInfo hparam_infos = 4; repeated MetricInfo metric_infos = 5; }
message SessionStartInfo { map<string, ProtoValue> hparams = 1; string model_uri = 2; string monitor_url = 3; string group_name = 4; double start_time_secs = 5; }
message SessionEndInfo { int32 status = 1; double end_time_secs = 2; }
message HParamsPluginData { int32 version = 1; oneof data { Experiment experiment = 2; SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; } }
`
const root = protobuf.parse(SCHEMA, { keepCase: true }).root
const Event = root.lookupType('tensorboard.Event')
const HParamsPluginData = root.lookupType('tensorboard.HParamsPluginData')

// An independent TFRecord reader: Python struct + a bitwise CRC-32C (no table), checked on the standard vector.
const PY_RECORDS = `
import struct, sys, json
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
assert crc32c(b'123456789') == 0xE3069283
raw = open(sys.argv[1], 'rb').read()
p, lengths = 0, []
while p < len(raw):
    (n,) = struct.unpack('<Q', raw[p:p+8]); (lc,) = struct.unpack('<I', raw[p+8:p+12])
    assert lc == masked(raw[p:p+8]), 'length crc at %d' % p
    data = raw[p+12:p+12+n]; (dc,) = struct.unpack('<I', raw[p+12+n:p+16+n])
    assert dc == masked(data), 'data crc at %d' % p
    lengths.append(n); p += 16 + n
print(json.dumps(lengths))
`

describe('TensorBoard event files', () => {
  it('golden record: a scalar event has the bytes an independent Python encoder produces', async () => {
    const ours = encodeTfRecord(encodeEvent({ wallTime: 1700000000.5, step: 42, values: [scalarValue('scalar/train_loss', 2.5)] }))
    const golden = await runPython(`
import struct
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
def ld(field, payload):  # length-delimited field, lengths < 128 here
    return bytes([field << 3 | 2, len(payload)]) + payload
value = ld(1, b'scalar/train_loss') + bytes([2 << 3 | 5]) + struct.pack('<f', 2.5)
event = bytes([1 << 3 | 1]) + struct.pack('<d', 1700000000.5) + bytes([2 << 3 | 0, 42]) + ld(5, ld(1, value))
header = struct.pack('<Q', len(event))
print((header + struct.pack('<I', masked(header)) + event + struct.pack('<I', masked(event))).hex())
`)
    expect(Buffer.from(ours).toString('hex')).toBe(golden.trim())
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
  })

  it('a whole run decodes with the official schema and every record CRC checks (Python)', async () => {
    let clock = 1_700_000_000
    const runDir = join(mkdtempSync(join(tmpdir(), 'tb-')), 'Nov28_01-02-03_resnet18')
    const writer = new SummaryWriter({ runDir, now: () => clock++ })
    const logged: [string, number, number][] = []
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const [tag, v] of [['scalar/train_loss', 5.3 - epoch], ['scalar/train_acc', 1.5 + 10 * epoch], ['scalar/val_loss', 5.1 - epoch / 2], ['scalar/val_acc', 2 + 9 * epoch]] as const) {
        writer.addScalar(tag, v, epoch)
        logged.push([tag, epoch, v])
      }
      writer.flush()
    }
    writer.addText('args', '| arg | value |\n|---|---|\n| lr | 0.1 |', 0)
    writer.addHistogram('fc.weight', Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i)), 2, 20)
    writer.addHparams({ lr: 0.1, arch: 'resnet18', pretrained: false }, { 'hparam/best_acc1': 20 })
    writer.close()

    const files = readdirSync(runDir)
    const eventFile = files.find((f) => f.startsWith('events.out.tfevents.')) as string
    expect(eventFile).toMatch(/^events\.out\.tfevents\.1700000000\.[^.]+\.\d+\.0$/)
    expect(files.sort()).toEqual([eventFile, 'scalars.csv', 'scalars.jsonl'].sort())

    const lengths = JSON.parse(await runPython(PY_RECORDS, [join(runDir, eventFile)])) as number[]
    const { records, truncated } = readTfRecords(readFileSync(join(runDir, eventFile)))
    expect(truncated).toBe(false)
    expect(records.map((r) => r.length)).toEqual(lengths)
    expect(records.length).toBe(1 + 12 + 1 + 1 + 1 + 1) // version, scalars, text, histogram, hparams, hparam metric

    const events = records.map((r) => Event.toObject(Event.decode(r), { longs: Number, bytes: Array, defaults: false }) as Record<string, any>)
    expect(events[0]).toEqual({ wall_time: 1_700_000_000, file_version: 'brain.Event:2' })
    const scalars = events.slice(1, 13).map((e) => [e.summary.value[0].tag, e.step ?? 0, e.summary.value[0].simple_value])
    expect(scalars).toEqual(logged.map(([t, s, v]) => [t, s, Math.fround(v)]))

    const text = events[13]?.summary.value[0]
    expect(text.tag).toBe('args/text_summary')
    expect(text.metadata.plugin_data.plugin_name).toBe('text')
    expect(text.tensor.dtype).toBe(7) // DT_STRING
    expect(text.tensor.tensor_shape.dim).toEqual([{ size: 1 }])
    expect(Buffer.from(text.tensor.string_val[0]).toString()).toContain('| lr | 0.1 |')

    const histo = events[14]?.summary.value[0].histo
    expect(events[14]?.step).toBe(2)
    expect(histo.num).toBe(1000)
    expect(histo.bucket.reduce((a: number, b: number) => a + b, 0)).toBe(1000)
    expect(histo.bucket_limit).toHaveLength(20)
    expect(histo.max).toBe(histo.bucket_limit[19])
    const sines = Array.from({ length: 1000 }, (_, i) => Math.fround(Math.sin(i)))
    expect(histo.sum).toBeCloseTo(sines.reduce((a, b) => a + b, 0), 9)

    const hp = events[15]?.summary.value as Record<string, any>[]
    expect(hp.map((v) => v.tag)).toEqual(['_hparams_/experiment', '_hparams_/session_start_info', '_hparams_/session_end_info'])
    const content = hp.map((v) => {
      expect(v.metadata.plugin_data.plugin_name).toBe('hparams')
      return HParamsPluginData.toObject(HParamsPluginData.decode(Uint8Array.from(v.metadata.plugin_data.content)), { defaults: false }) as Record<string, any>
    })
    expect(content[0]?.experiment.hparam_infos).toEqual([{ name: 'lr', type: 3 }, { name: 'arch', type: 1 }, { name: 'pretrained', type: 2 }])
    expect(content[0]?.experiment.metric_infos).toEqual([{ name: { tag: 'hparam/best_acc1' } }])
    expect(content[1]?.session_start_info.hparams).toEqual({ lr: { number_value: 0.1 }, arch: { string_value: 'resnet18' }, pretrained: { bool_value: false } })
    expect(content[2]?.session_end_info).toEqual({ status: 1 })
    expect(events[16]?.summary.value[0]).toEqual({ tag: 'hparam/best_acc1', simple_value: 20 })

    // The same scalars, as CSV, JSONL and read back from the event file.
    const csv = readScalarsCsv(join(runDir, 'scalars.csv'))
    const jsonl = readScalarsJsonl(join(runDir, 'scalars.jsonl'))
    expect(csv.slice(0, 12).map((r) => [r.tag, r.step, r.value])).toEqual(logged)
    expect(jsonl).toEqual(csv)
    const fromEvents = records.flatMap((r) => scalarsFromEvent(r))
    expect(fromEvents.slice(0, 12).map((s) => [s.tag, s.step, s.value])).toEqual(logged.map(([t, s, v]) => [t, s, Math.fround(v)]))
  })

  it('run folders are named like torch / the reference (%b%d_%H-%M-%S_<arch>)', async () => {
    const dates = Array.from({ length: 12 }, (_, m) => [2026, m + 1, 1 + ((m * 5) % 28), m * 2, 59 - m, m * 4] as const)
    const expected = JSON.parse(
      await runPython(
        `import json, sys, datetime\nprint(json.dumps([datetime.datetime(*d).strftime('%b%d_%H-%M-%S') + '_resnet18' for d in json.loads(sys.argv[1])]))`,
        [JSON.stringify(dates)],
      ),
    ) as string[]
    expect(dates.map(([y, mo, d, h, mi, s]) => runDirName('resnet18', new Date(y, mo - 1, d, h, mi, s)))).toEqual(expected)
    expect(runDirName('resnet18', new Date(2026, 10, 28, 1, 2, 3))).toBe('Nov28_01-02-03_resnet18')
  })

  it.each(['exit', 'signal'])('flushes buffered events when the process ends (%s)', async (mode) => {
    const runDir = join(mkdtempSync(join(tmpdir(), 'tb-exit-')), 'run')
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '_exit-writer.ts'), runDir, mode], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
      child.stdout.on('data', (c: Buffer) => {
        if (c.toString().includes('ready')) child.kill('SIGINT')
      })
      child.on('exit', (code) => (code === (mode === 'exit' ? 0 : 130) ? resolve() : reject(new Error(`exit code ${code}`))))
    })
    const eventFile = readdirSync(runDir).find((f) => f.startsWith('events.out.tfevents.')) as string
    const { records } = readTfRecords(readFileSync(join(runDir, eventFile)))
    expect(records.flatMap((r) => scalarsFromEvent(r)).map((s) => [s.step, s.value])).toEqual([[0, 5], [1, 4], [2, 3]])
  })

  it('tolerates a torn last record and rejects corrupted ones by position', () => {
    const a = encodeTfRecord(encodeEvent({ wallTime: 1, fileVersion: 'brain.Event:2' }))
    const b = encodeTfRecord(encodeEvent({ wallTime: 2, step: 1, values: [scalarValue('x', 1)] }))
    const both = new Uint8Array([...a, ...b])
    expect(readTfRecords(both.subarray(0, both.length - 3))).toMatchObject({ truncated: true, records: [expect.anything()] })
    const bad = both.slice()
    bad[a.length + 14] = (bad[a.length + 14] as number) ^ 1
    expect(() => readTfRecords(bad, 'ev')).toThrow(`ev: data CRC mismatch in the record at byte ${a.length}`)
  })
})
