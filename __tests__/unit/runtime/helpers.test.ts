import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitReason, normalizeImage, runtimeContainerName } from '../../../src/kubelet/runtime/container-runtime';
import { pauseElf } from '../../../src/kubelet/runtime/docker/docker-runtime';

test.each([
  ['busybox', 'busybox:latest'],
  ['busybox:1.36', 'busybox:1.36'],
  ['minictl/pause:local', 'minictl/pause:local'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['localhost:5000/app:v2', 'localhost:5000/app:v2'],
  ['app@sha256:abc', 'app@sha256:abc'],
])('normalizeImage(%s)', (input, want) => {
  expect(normalizeImage(input)).toBe(want);
});

test('runtimeContainerName is unique per uid, container and restart', () => {
  expect(runtimeContainerName('dev', 'node-1', 'default', 'web', '1b2c3d4e-5f60-7182', 'nginx', 3)).toBe(
    'minictl-dev-node-1_default_web_nginx_1b2c3d4e_3',
  );
});

test.each([
  [0, false, 'Completed'],
  [1, false, 'Error'],
  [137, true, 'OOMKilled'],
  [0, true, 'OOMKilled'],
] as const)('exitReason(%i, %s)', (code, oom, want) => {
  expect(exitReason(code, oom)).toBe(want);
});

describe('pauseElf', () => {
  test.each([
    ['x64', 62],
    ['arm64', 183],
  ])('%s: a well-formed ELF64 executable', (arch, machine) => {
    const elf = pauseElf(arch);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf[4]).toBe(2);
    expect(elf.readUInt16LE(16)).toBe(2);
    expect(elf.readUInt16LE(18)).toBe(machine);
    expect(elf.readBigUInt64LE(24)).toBe(0x400000n + 120n);
    expect(elf.readBigUInt64LE(96)).toBe(BigInt(elf.length));
    expect(elf.length).toBeLessThan(256);
  });

  test('unknown architectures are refused', () => {
    expect(() => pauseElf('s390x')).toThrow(RangeError);
  });

  // minictl ships pause binaries for x64 and arm64 only; elsewhere this fails loudly rather than skipping
  test.each(['SIGTERM', 'SIGINT'] as const)('runs natively, keeps running, exits 0 on %s', async (signal) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-pause-'));
    const file = path.join(dir, 'pause');
    fs.writeFileSync(file, pauseElf(process.arch), { mode: 0o755 });
    try {
      const child = spawn(file, [], { stdio: 'ignore' });
      const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
      await new Promise((r) => setTimeout(r, 200));
      expect(child.exitCode).toBeNull();
      child.kill(signal);
      expect(await exited).toEqual([0, null]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
