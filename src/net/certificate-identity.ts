// Who a client certificate names, for `tls.identityFrom`: only a certificate the configured CA
// verified on this connection names anyone. cn: the subject's common name; san-dns / san-uri: the
// first DNS or URI subject alternative name; dn: the whole subject, its fields joined with commas
// in the certificate's order ("CN=device-17,O=Fleet").
import type { TLSSocket } from 'node:tls';

export type IdentityFrom = 'cn' | 'san-dns' | 'san-uri' | 'dn';

export function certificateIdentity(socket: TLSSocket, from: IdentityFrom): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  if (from === 'dn') return cert.subject.split('\n').join(',') || undefined;
  if (from === 'cn') {
    const cn = cert.subject.split('\n').find((f) => f.startsWith('CN='));
    return cn ? cn.slice(3) || undefined : undefined;
  }
  const prefix = from === 'san-dns' ? 'DNS:' : 'URI:';
  const san = (cert.subjectAltName ?? '')
    .split(', ')
    .find((n) => n.startsWith(prefix))
    ?.slice(prefix.length);
  return san || undefined;
}
