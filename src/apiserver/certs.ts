import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import forge from 'node-forge';

/**
 * The cluster's PKI: a self-signed CA made at first start and a serving certificate for
 * 127.0.0.1/localhost signed by it. Files are written 0600 into the data dir and reused.
 * Keys come from Node's native generator (fast); node-forge builds and signs the X.509 certificates,
 * which Node cannot do itself.
 */
export interface ClusterPKI {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

function newKey(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { pem, forgeKey, publicKey };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  return b.toString('hex');
}

export function generatePKI(extraIPs: string[] = []): ClusterPKI & { caKeyPem: string } {
  const now = new Date();
  const ca = newKey();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(now.getTime() - 60_000);
  caCert.validity.notAfter = new Date(now.getTime() + 10 * 365 * 86400_000);
  const caSubject = [{ name: 'commonName', value: 'minictl-ca' }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.forgeKey, forge.md.sha256.create());

  const srv = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = srv.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + 5 * 365 * 86400_000);
  cert.setSubject([{ name: 'commonName', value: 'minictl-apiserver' }]);
  cert.setIssuer(caSubject);
  const ips = ['127.0.0.1', '10.96.0.1', ...extraIPs];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 2, value: 'kubernetes' },
        { type: 2, value: 'kubernetes.default' },
        { type: 2, value: 'kubernetes.default.svc' },
        { type: 2, value: 'kubernetes.default.svc.cluster.local' },
        ...ips.map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(ca.forgeKey, forge.md.sha256.create());
  return {
    caCertPem: forge.pki.certificateToPem(caCert),
    caKeyPem: ca.pem,
    serverCertPem: forge.pki.certificateToPem(cert),
    serverKeyPem: srv.pem,
  };
}

function writePrivate(file: string, data: string): void {
  fs.writeFileSync(file, data, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** Loads the PKI from `dir/pki`, creating it on first use. */
export function ensurePKI(dir: string): ClusterPKI {
  const d = path.join(dir, 'pki');
  const files = { ca: path.join(d, 'ca.crt'), caKey: path.join(d, 'ca.key'), crt: path.join(d, 'apiserver.crt'), key: path.join(d, 'apiserver.key') };
  if (fs.existsSync(files.ca) && fs.existsSync(files.crt) && fs.existsSync(files.key)) {
    return { caCertPem: fs.readFileSync(files.ca, 'utf8'), serverCertPem: fs.readFileSync(files.crt, 'utf8'), serverKeyPem: fs.readFileSync(files.key, 'utf8') };
  }
  fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  const pki = generatePKI();
  writePrivate(files.ca, pki.caCertPem);
  writePrivate(files.caKey, pki.caKeyPem);
  writePrivate(files.crt, pki.serverCertPem);
  writePrivate(files.key, pki.serverKeyPem);
  return pki;
}

/** The bearer token in `dir/token`, created (32 random bytes, hex) on first use. */
export function ensureToken(dir: string): string {
  const f = path.join(dir, 'token');
  if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8').trim();
  const t = randomBytes(32).toString('hex');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writePrivate(f, t + '\n');
  return t;
}
