// A throwaway certificate authority for mutual-TLS tests, run with openssl's `ca` command (which
// keeps the issued-certificate database a revocation list needs): a server certificate for
// localhost, client certificates with a chosen subject, subject alternative names and validity,
// revocation, and the CRL. Another Pki is another, untrusted, CA.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'junction-pki-'));
  readonly caFile: string;
  readonly ca: Buffer;
  private readonly config: string;
  private issued = 0;

  constructor(name = 'Junction Test CA') {
    mkdirSync(join(this.dir, 'issued'));
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial'), '1000\n');
    writeFileSync(join(this.dir, 'crlnumber'), '1000\n');
    this.config = join(this.dir, 'ca.cnf');
    writeFileSync(
      this.config,
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `dir = ${this.dir}`,
        'database = $dir/index.txt',
        'serial = $dir/serial',
        'crlnumber = $dir/crlnumber',
        'new_certs_dir = $dir/issued',
        'certificate = $dir/ca.crt',
        'private_key = $dir/ca.key',
        'default_md = sha256',
        'default_days = 2',
        'default_crl_days = 2',
        'policy = anything',
        'copy_extensions = copy',
        'unique_subject = no',
        '[anything]',
        'commonName = supplied',
        'organizationName = optional',
        '',
      ].join('\n'),
    );
    this.caFile = join(this.dir, 'ca.crt');
    this.openssl([
      'req',
      '-x509',
      ...newKey(join(this.dir, 'ca.key')),
      '-out',
      this.caFile,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    this.ca = readFileSync(this.caFile);
  }

  /** A certificate for `subject` ("/O=Fleet/CN=device-17"), signed by this CA. */
  issue(subject: string, opts: { san?: string; startDate?: string; endDate?: string } = {}): Issued {
    const n = ++this.issued;
    const keyFile = join(this.dir, `c${n}.key`);
    const csr = join(this.dir, `c${n}.csr`);
    const certFile = join(this.dir, `c${n}.crt`);
    this.openssl([
      'req',
      '-new',
      ...newKey(keyFile),
      '-out',
      csr,
      '-subj',
      subject,
      ...(opts.san ? ['-addext', `subjectAltName=${opts.san}`] : []),
    ]);
    const dates = [...(opts.startDate ? ['-startdate', opts.startDate] : []), ...(opts.endDate ? ['-enddate', opts.endDate] : [])];
    this.openssl(['ca', '-batch', '-config', this.config, '-notext', '-in', csr, '-out', certFile, ...dates]);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }

  /** The server's certificate for localhost and 127.0.0.1. */
  server(): Issued {
    return this.issue('/CN=localhost', { san: 'DNS:localhost,IP:127.0.0.1' });
  }

  revoke(c: Issued): void {
    this.openssl(['ca', '-config', this.config, '-revoke', c.certFile]);
  }

  /** The current certificate revocation list, as a PEM file. */
  crl(): string {
    const file = join(this.dir, 'crl.pem');
    this.openssl(['ca', '-gencrl', '-config', this.config, '-out', file]);
    return file;
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: 'ignore' });
  }
}

function newKey(keyFile: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile];
}
