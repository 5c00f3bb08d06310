#!/usr/bin/env node
'use strict';
// Builds the local images minictl and its tests use, without any registry:
//   busybox  -> minictl/busybox:local (Debian's static /bin/busybox with its applet links)
//   pause    -> the sandbox image (see src/kubelet/runtime/docker), built by the runtime itself
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function busybox(tag = 'minictl/busybox:local') {
  const bb = '/bin/busybox';
  if (!fs.existsSync(bb)) throw new Error('/bin/busybox not found: install the busybox-static package');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-busybox-'));
  try {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'var/www', 'root', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.copyFileSync(bb, path.join(root, 'bin/busybox'));
    fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
    const applets = execFileSync(bb, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const a of applets) {
      if (a === 'busybox') continue;
      const p = path.join(root, 'bin', a);
      if (!fs.existsSync(p)) fs.symlinkSync('busybox', p);
    }
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    const tar = execFileSync('tar', ['-C', root, '-c', '.']);
    execFileSync('docker', ['import', '-c', 'CMD ["sh"]', '-c', 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin', '-', tag], { input: tar, stdio: ['pipe', 'ignore', 'inherit'] });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function pause() {
  const dist = path.join(__dirname, '..', 'dist', 'kubelet', 'runtime', 'docker', 'pause-image.js');
  if (!fs.existsSync(dist)) return; // built by the daemon on first use
  const Docker = require('dockerode');
  await require(dist).ensurePauseImage(new Docker());
}

const what = process.argv[2] || 'all';
(async () => {
  if (what === 'busybox' || what === 'all') busybox();
  if (what === 'pause' || what === 'all') await pause();
})().catch((e) => {
  process.stderr.write(`build-images: ${e.message}\n`);
  process.exit(1);
});
