// The contract's request schemas: strict objects, finite in-range numbers, bounded strings, safe paths.
import { describe, expect, it } from 'vitest';
import { Channels, REQUEST_CHANNELS } from '../../../src/shared/contract';
import { parseRequest, requestSchemas } from '../../../src/shared/schemas';

const ok = (channel: Parameters<typeof parseRequest>[0], raw: unknown) => {
  const r = parseRequest(channel, raw);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const bad = (channel: Parameters<typeof parseRequest>[0], raw: unknown) => {
  const r = parseRequest(channel, raw);
  expect(r.ok, `expected ${JSON.stringify(raw)?.slice(0, 80)} to be refused on ${channel}`).toBe(false);
  return r.ok ? '' : r.message;
};

describe('request schemas', () => {
  it('has one schema per request channel', () => {
    expect(Object.keys(requestSchemas).sort()).toEqual([...REQUEST_CHANNELS].sort());
  });

  it('takes nothing (undefined or null) on void channels, and nothing else', () => {
    expect(ok(Channels.runsList, undefined)).toBeUndefined();
    expect(ok(Channels.runsList, null)).toBeUndefined();
    bad(Channels.runsList, {});
    bad(Channels.runsList, 'x');
    expect(ok(Channels.appInfo, { probeBackend: true })).toEqual({ probeBackend: true });
    bad(Channels.appInfo, { probeBackend: 'yes' });
  });

  it('accepts a minimal new run and a resume', () => {
    expect(ok(Channels.trainingStart, { data: 'fashion' })).toEqual({ data: 'fashion' });
    expect(ok(Channels.trainingStart, { data: '/data/stars', model: 'dcgan', size: 64, channels: 3, epochs: 10, lr: 2e-4 })).toMatchObject({ size: 64 });
    expect(ok(Channels.trainingStart, { data: '/data/photos', model: 'dcgan', size: 128, channels: 3 })).toMatchObject({ size: 128 });
    expect(ok(Channels.trainingStart, { resume: 3, epochs: 20 })).toEqual({ resume: 3, epochs: 20 });
  });

  it('refuses wrong types, extra keys, NaN / Infinity and out-of-range numbers', () => {
    expect(bad(Channels.trainingStart, { data: 'x', epochs: '5' })).toMatch(/epochs/);
    expect(bad(Channels.trainingStart, { data: 'x', extra: 1 })).toMatch(/extra|Unrecognized/i);
    bad(Channels.trainingStart, { data: 'x', lr: Number.NaN });
    bad(Channels.trainingStart, { data: 'x', lr: Number.POSITIVE_INFINITY });
    bad(Channels.trainingStart, { data: 'x', lr: -1 });
    bad(Channels.trainingStart, { data: 'x', lr: 0 });
    expect(bad(Channels.trainingStart, { data: 'x', epochs: -1 })).toMatch(/epochs/);
    bad(Channels.trainingStart, { data: 'x', epochs: 0 });
    bad(Channels.trainingStart, { data: 'x', epochs: 1.5 });
    bad(Channels.trainingStart, { data: 'x', epochs: 1e9 });
    bad(Channels.trainingStart, { data: 'x', batch: 1e7 });
    bad(Channels.trainingStart, { data: 'x', beta1: 1 });
    bad(Channels.trainingStart, { data: 'x', size: 48 });
    bad(Channels.trainingStart, { data: 'x', model: 'stylegan' });
    bad(Channels.trainingStart, { resume: 0 });
    bad(Channels.trainingStart, { resume: 1, data: 'x' });
    bad(Channels.runsGet, { runId: '1' });
    bad(Channels.runsGet, { runId: 1.5 });
    bad(Channels.runsGet, { runId: -1 });
    bad(Channels.runsGet, {});
    bad(Channels.runsGet, [1]);
    bad(Channels.runsMetrics, { runId: 1, maxPoints: 0 });
    bad(Channels.runsMetrics, { runId: 1, maxPoints: 1e9 });
    bad(Channels.datasetsDelete, { id: 1, force: true });
  });

  it('refuses huge strings, NUL, relative paths and .. segments', () => {
    const huge = 'a'.repeat(10_000);
    bad(Channels.trainingStart, { data: 'x', name: huge });
    bad(Channels.trainingStart, { data: `/${huge}` });
    bad(Channels.datasetsImport, { path: '/data', name: huge });
    bad(Channels.datasetsImport, { path: `/${huge}`, name: 'x' });
    expect(bad(Channels.datasetsImport, { path: '/data/../etc', name: 'x' })).toMatch(/\.\./);
    bad(Channels.datasetsImport, { path: 'C:\\data\\..\\x', name: 'x' });
    expect(bad(Channels.datasetsImport, { path: 'data/stars', name: 'x' })).toMatch(/absolute/);
    bad(Channels.datasetsImport, { path: '/data\0/x', name: 'x' });
    bad(Channels.datasetsImport, { path: '/data', name: '' });
    bad(Channels.datasetsImport, { path: '/data', name: 'a\nb' });
    bad(Channels.trainingStart, { data: '../secret' });
    bad(Channels.trainingStart, { data: 'sub/dir' });
    bad(Channels.fsList, { path: '/home/../root' });
    bad(Channels.fsList, { path: 'relative' });
    expect(ok(Channels.fsList, { path: '/home' })).toEqual({ path: '/home' });
    expect(ok(Channels.datasetsImport, { path: 'C:\\Users\\me\\stars', name: 'stars', size: 64, fit: 'pad', mirror: true })).toMatchObject({ fit: 'pad' });
  });

  it('names the bad field without echoing the value', () => {
    const message = bad(Channels.trainingStart, { data: 'x', name: 'n'.repeat(5000) });
    expect(message).toMatch(/^Invalid training:start request: name/);
    expect(message.length).toBeLessThan(300);
    expect(bad(Channels.trainingStart, { data: 'x', ['k'.repeat(50_000)]: 1 }).length).toBeLessThan(400);
  });
});
