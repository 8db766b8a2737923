// Whether an anchor broker (or anything) listens on a loopback port: scenarios measure the
// anchors only when their start scripts have run.
import net from 'node:net';

export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
