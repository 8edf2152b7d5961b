import execa from 'execa';
import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';

/** A throwaway CA and a server certificate it signed for 127.0.0.1, as PEM files in a temp dir. */
export interface TestCertificates {
  dir: string;
  /** The CA certificate: what a client must trust (NODE_EXTRA_CA_CERTS) to accept the server. */
  caFile: string;
  /** A dir holding only the CA as ca.crt, the layout of skopeo's --cert-dir. */
  trustDir: string;
  certificate: string;
  key: string;
}

export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execa('openssl', args, { cwd: dir });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=linuxkit-kernels test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr')]);
  await fs.writeFile(file('server.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n');
  await openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem')]);
  const trustDir = file('trust');
  await fs.mkdir(trustDir);
  await fs.copyFile(file('ca.pem'), path.join(trustDir, 'ca.crt'));
  return { dir, caFile: file('ca.pem'), trustDir, certificate: file('server.pem'), key: file('server.key') };
}
