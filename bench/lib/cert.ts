// A throwaway certificate for the TLS bench scenarios, made with the openssl command: an ECDSA
// P-256 key, as device fleets commonly use (an RSA key of 2048 bits costs the server about ten
// times as much per handshake).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway CA and one client certificate it signed (CN=fleet-device), both ECDSA P-256: every
 * device of a certificate-authenticated fleet presents it.
 */
export function makeBenchClientCa(): { ca: string; clientCert: string; clientKey: string } {
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-ca-'));
  const [ca, caKey, clientCert, clientKey, csr] = ['ca.pem', 'ca-key.pem', 'client.pem', 'client-key.pem', 'client.csr'].map((f) =>
    join(dir, f),
  ) as [string, string, string, string, string];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  run(['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=Bench Fleet CA', '-keyout', caKey, '-out', ca]);
  run(['req', '-new', ...ec, '-subj', '/CN=fleet-device', '-keyout', clientKey, '-out', csr]);
  run(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-out', clientCert]);
  return { ca, clientCert, clientKey };
}

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
