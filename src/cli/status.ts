// What `junction status` prints for a broker's `/health` document: its role and epoch, and who
// holds the lease (itself when active; as it last saw the holder when standby).

export interface BrokerHealth {
  status: string;
  role: string;
  epoch: number;
  since: string;
  node: string;
  store: string;
  memory: string;
  stopping: boolean;
  holder?: { node: string; epoch: number; since: number; admin: string };
}

export function formatStatus(url: string, h: BrokerHealth): string {
  const rows: Array<[string, string]> = [
    ['broker', `${h.node} (${url})`],
    ['role', h.stopping ? `${h.role}, stopping` : h.role],
    ['since', h.since],
    ['epoch', String(h.epoch)],
  ];
  if (h.role === 'active') rows.push(['lease holder', `${h.node} (this broker)`]);
  else if (h.holder) {
    const at = h.holder.admin ? `, admin ${h.holder.admin}` : '';
    rows.push(['lease holder', `${h.holder.node} (epoch ${h.holder.epoch} since ${new Date(h.holder.since).toISOString()}${at})`]);
  } else rows.push(['lease holder', 'none seen']);
  rows.push(['store', h.role === 'active' ? h.store : `lease lock ${h.store}`], ['memory', h.memory], ['health', h.status]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('');
}
