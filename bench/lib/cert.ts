// A throwaway certificate for the TLS bench scenarios, made with the openssl command: an ECDSA
// P-256 key, as device fleets commonly use (an RSA key of 2048 bits costs the server about ten
// times as much per handshake).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeBenchCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}
