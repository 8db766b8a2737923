// The Junction web console: a small single-page app over the admin API (no framework; charts with
// uPlot). Views by URL hash: #/ overview, #/queues, #/queue/NAME, #/topics, #/connections,
// #/delivery-streams, #/streams, #/stream/NAME.
// Credentials (HTTP Basic, the broker's users) are kept in sessionStorage for this tab only.
'use strict';

const main = document.getElementById('main');
const state = { auth: sessionStorage.getItem('junction.auth'), timer: undefined, charts: [], sort: { key: 'depth', dir: -1 }, filter: '' };

function headers(extra) {
  const h = { 'x-requested-with': 'junction-console', ...extra };
  if (state.auth) h.authorization = `Basic ${state.auth}`;
  return h;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    signOut('Please sign in.');
    throw new Error('unauthorized');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.message || `${res.status} ${res.statusText}`);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  setTimeout(() => t.classList.remove('show'), 2500);
}

const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en') : (n ?? ''));
const since = (ms) => {
  const s = Math.floor((Date.now() - ms) / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h`;
};

function signOut(message) {
  sessionStorage.removeItem('junction.auth');
  state.auth = null;
  showSignIn(message);
}

function showSignIn(message) {
  stopRefresh();
  document.getElementById('nav').hidden = true;
  document.getElementById('signout').hidden = true;
  document.getElementById('who').textContent = '';
  const user = el('input', { name: 'username', autocomplete: 'username', placeholder: 'User', required: true });
  const pass = el('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    placeholder: 'Password',
    required: true,
  });
  const err = el('div', { class: 'error' }, message && message !== 'Please sign in.' ? message : '');
  const form = el(
    'form',
    {
      class: 'signin',
      onsubmit: async (ev) => {
        ev.preventDefault();
        state.auth = btoa(unescape(encodeURIComponent(`${user.value}:${pass.value}`)));
        const res = await fetch('/api/broker', { headers: headers() });
        if (res.ok) {
          sessionStorage.setItem('junction.auth', state.auth);
          route();
        } else {
          state.auth = null;
          err.textContent = (await res.json().catch(() => ({}))).message || 'Sign-in failed';
        }
      },
    },
    el('h1', {}, 'Sign in to Junction'),
    user,
    pass,
    el('button', { type: 'submit' }, 'Sign in'),
    err,
  );
  main.replaceChildren(form);
}

function stopRefresh() {
  if (state.timer) clearInterval(state.timer);
  state.timer = undefined;
  for (const c of state.charts) c.destroy();
  state.charts = [];
}

function every(ms, f) {
  f();
  state.timer = setInterval(f, ms);
}

const now = () => Date.now() / 1000;

function chart(container, title, series, rows) {
  const width = Math.max(300, container.clientWidth - 20);
  const data = [rows.map((r) => r.t / 1000), ...series.map((s) => rows.map((r) => r[s.key]))];
  const plot = new uPlot(
    {
      title,
      width,
      height: 220,
      // The last fifteen minutes, whatever the samples cover.
      scales: { x: { time: true, auto: false } },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true } }))],
      axes: [{}, { size: 60 }],
    },
    data,
    container,
  );
  state.charts.push(plot);
  const window = () => plot.setScale('x', { min: now() - 900, max: now() });
  window();
  return (next) => {
    plot.setData([next.map((r) => r.t / 1000), ...series.map((s) => next.map((r) => r[s.key]))], false);
    window();
  };
}

function card(k, v, id) {
  return el('div', { class: 'card' }, el('div', { class: 'k' }, k), el('div', { class: 'v', id }, v));
}

async function overview() {
  const info = await api('GET', '/api/broker');
  const cards = el('div', { class: 'cards' });
  const chartBox = el('div', { class: 'chart' });
  const requests = el('div', { id: 'api-requests' });
  main.replaceChildren(el('h1', {}, 'Overview'), cards, el('h2', {}, 'Messages per second'), chartBox, requests);
  let update;
  every(5000, async () => {
    const b = await api('GET', '/api/broker');
    cards.replaceChildren(
      card('Role', b.role, 'role'),
      card('Epoch', b.epoch, 'epoch'),
      card('Uptime', since(Date.now() - b.uptimeMs)),
      card('Connections', fmt(b.connections), 'connections'),
      card('Queues', fmt(b.queues)),
      card('Memory', `${Math.round(b.memory.rssBytes / 1048576)} MiB`),
      card('Store', b.store.available ? 'available' : 'unavailable'),
    );
    if (b.role !== 'active') return;
    requests.replaceChildren(...apiRequests(await api('GET', '/api/requests')));
    const rates = await api('GET', '/api/broker/rates');
    if (!update)
      update = chart(
        chartBox,
        '',
        [
          { key: 'in', label: 'in', color: '#1f6feb' },
          { key: 'out', label: 'out', color: '#2e7d32' },
        ],
        rates,
      );
    else update(rates);
  });
  return info;
}

/** The AWS APIs' requests by operation, errors and waiting long polls; nothing when none came. */
function apiRequests(r) {
  if (r.requests.length === 0) return [];
  const waiting = r.waiting.map((w) => `${w.service}: ${fmt(w.waiting)}`).join(', ') || '0';
  const rows = [...r.requests].sort((a, b) => b.requests - a.requests);
  return [
    el('h2', {}, 'API requests'),
    el('p', {}, `Long polls waiting: ${waiting}`),
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Service', 'Operation', 'Requests', 'Errors', 'Error codes'].map((h) => el('th', {}, h)),
        ),
      ),
      el(
        'tbody',
        {},
        rows.map((q) =>
          el(
            'tr',
            {},
            el('td', {}, q.service),
            el('td', {}, q.operation),
            el('td', { class: 'num' }, fmt(q.requests)),
            el('td', { class: 'num' }, fmt(q.errors)),
            el(
              'td',
              {},
              Object.entries(q.errorCodes)
                .map(([code, n]) => `${code} ${n}`)
                .join(', '),
            ),
          ),
        ),
      ),
    ),
  ];
}

function sortable(columns, rows, render, onclick) {
  const table = el('table');
  const draw = () => {
    const { key, dir } = state.sort;
    const sorted = [...rows].sort((a, b) => (a[key] > b[key] ? dir : a[key] < b[key] ? -dir : 0));
    table.replaceChildren(
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          columns.map((c) =>
            el(
              'th',
              {
                class: c.num ? 'num' : '',
                onclick: () => {
                  state.sort = { key: c.key, dir: state.sort.key === c.key ? -state.sort.dir : c.num ? -1 : 1 };
                  draw();
                },
              },
              c.label,
            ),
          ),
        ),
      ),
      el(
        'tbody',
        {},
        sorted.map((r) =>
          el(
            'tr',
            { class: onclick ? 'link' : '', 'data-name': r.name ?? r.id, onclick: onclick ? () => onclick(r) : undefined },
            render(r),
          ),
        ),
      ),
    );
  };
  draw();
  return table;
}

const QUEUE_COLUMNS = [
  { key: 'name', label: 'Queue' },
  { key: 'depth', label: 'Depth', num: true },
  { key: 'ready', label: 'Ready', num: true },
  { key: 'inflight', label: 'In flight', num: true },
  { key: 'consumers', label: 'Consumers', num: true },
  { key: 'producers', label: 'Producers', num: true },
  { key: 'enqueued', label: 'Enqueued', num: true },
  { key: 'dequeued', label: 'Dequeued', num: true },
  { key: 'enqueueRate', label: 'In/s', num: true },
  { key: 'dequeueRate', label: 'Out/s', num: true },
];

async function queues() {
  const filter = el('input', {
    placeholder: 'Filter by name',
    value: state.filter,
    oninput: () => ((state.filter = filter.value), draw()),
  });
  const name = el('input', { placeholder: 'New queue name' });
  const holder = el('div');
  let rows = [];
  const draw = () =>
    holder.replaceChildren(
      sortable(
        QUEUE_COLUMNS,
        rows.filter((q) => q.name.includes(state.filter)),
        (q) =>
          QUEUE_COLUMNS.map((c) =>
            c.key === 'name'
              ? el('td', {}, q.name, q.deadLetter ? el('span', { class: 'badge dlq' }, 'DLQ') : null)
              : el('td', { class: 'num', 'data-col': c.key }, fmt(q[c.key])),
          ),
        (q) => (location.hash = `#/queue/${encodeURIComponent(q.name)}`),
      ),
    );
  main.replaceChildren(
    el('h1', {}, 'Queues'),
    el(
      'div',
      { class: 'bar' },
      filter,
      name,
      el(
        'button',
        {
          onclick: async () => {
            if (!name.value) return;
            await api('POST', '/api/queues', { name: name.value }).then(
              () => toast(`Queue ${name.value} created`),
              (e) => toast(e.message),
            );
            name.value = '';
          },
        },
        'Create queue',
      ),
    ),
    holder,
  );
  every(3000, async () => {
    rows = await api('GET', '/api/queues');
    draw();
  });
}

async function queuePage(qname) {
  const path = `/api/queues/${encodeURIComponent(qname)}`;
  const cards = el('div', { class: 'cards' });
  const chartBox = el('div', { class: 'chart' });
  const browse = el('div');
  const sendBody = el('textarea', { rows: 3, cols: 50, placeholder: 'Message body', name: 'body' });
  const persistent = el('input', { type: 'checkbox', checked: true });
  const moveTo = el('input', { placeholder: 'Target queue', name: 'to' });
  const selector = el('input', { placeholder: 'Selector (e.g. priority > 4), empty = all', name: 'selector', size: 30 });
  let update;
  const refresh = async () => {
    const q = await api('GET', path);
    cards.replaceChildren(
      card('Depth', fmt(q.depth), 'depth'),
      card('Ready', fmt(q.ready)),
      card('In flight', fmt(q.inflight)),
      card('Paged out', fmt(q.pagedOut)),
      card('Consumers', fmt(q.consumers)),
      card('Producers', fmt(q.producers)),
      card('Enqueued', fmt(q.enqueued)),
      card('Dequeued', fmt(q.dequeued)),
    );
    if (!update)
      update = chart(
        chartBox,
        '',
        [
          { key: 'depth', label: 'depth', color: '#1f6feb' },
          { key: 'inflight', label: 'in flight', color: '#9a5b00' },
        ],
        q.history,
      );
    else update(q.history);
  };
  const showMessages = async () => {
    const msgs = await api('GET', `${path}/messages?limit=100`);
    browse.replaceChildren(
      msgs.length === 0
        ? el('p', { class: 'muted', id: 'no-messages' }, 'No messages.')
        : el(
            'table',
            { id: 'messages' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ['Id', 'Time', 'Priority', 'Deliveries', 'Properties', 'Body'].map((h) => el('th', {}, h)),
              ),
            ),
            el(
              'tbody',
              {},
              msgs.map((m) =>
                el(
                  'tr',
                  { 'data-id': m.id },
                  el('td', {}, m.id),
                  el('td', {}, new Date(m.timestamp).toLocaleTimeString()),
                  el('td', { class: 'num' }, m.priority),
                  el('td', { class: 'num' }, m.deliveryCount),
                  el('td', {}, el('pre', { class: 'body' }, JSON.stringify({ ...m.properties, ...m.annotations }))),
                  el('td', {}, el('pre', { class: 'body' }, m.bodyEncoding === 'base64' ? `(base64) ${m.body}` : m.body)),
                ),
              ),
            ),
          ),
    );
  };
  const act = (label, cls, f) =>
    el(
      'button',
      {
        class: cls,
        onclick: async () => {
          try {
            const r = await f();
            if (r !== undefined) toast(r);
            await refresh();
            await showMessages();
          } catch (e) {
            toast(e.message);
          }
        },
      },
      label,
    );
  main.replaceChildren(
    el('h1', {}, `Queue ${qname}`, /(^DLQ\.|\.DLQ$|^ActiveMQ\.DLQ$)/.test(qname) ? el('span', { class: 'badge dlq' }, 'DLQ') : null),
    cards,
    el('h2', {}, 'Depth'),
    chartBox,
    el('h2', {}, 'Actions'),
    el(
      'div',
      { class: 'bar' },
      sendBody,
      el('label', {}, persistent, ' persistent'),
      act('Send', '', async () => {
        await api('POST', `${path}/messages`, { body: sendBody.value, persistent: persistent.checked });
        sendBody.value = '';
        return 'Sent';
      }),
    ),
    el(
      'div',
      { class: 'bar' },
      moveTo,
      selector,
      act(
        'Move',
        'secondary',
        async () => `Moved ${(await api('POST', `${path}/move`, { to: moveTo.value, selector: selector.value })).moved}`,
      ),
      act(
        'Copy',
        'secondary',
        async () => `Copied ${(await api('POST', `${path}/move`, { to: moveTo.value, selector: selector.value, copy: true })).copied}`,
      ),
      act('Redrive', 'secondary', async () => {
        const r = await api('POST', `${path}/redrive`);
        return `Redriven ${r.moved}, kept ${r.kept}`;
      }),
      act('Purge', 'danger', async () => {
        if (!confirm(`Remove every ready message of ${qname}?`)) return undefined;
        return `Purged ${(await api('POST', `${path}/purge`)).purged}`;
      }),
      el(
        'button',
        {
          class: 'danger',
          onclick: async () => {
            if (!confirm(`Delete queue ${qname} and its messages?`)) return;
            await api('DELETE', path).then(
              () => (location.hash = '#/queues'),
              (e) => toast(e.message),
            );
          },
        },
        'Delete',
      ),
    ),
    el('h2', {}, 'Messages ', el('button', { class: 'secondary', onclick: showMessages }, 'Refresh')),
    browse,
  );
  await showMessages();
  every(5000, refresh);
}

async function topics() {
  const holder = el('div');
  let rows = [];
  const filter = el('input', { placeholder: 'Filter by topic', oninput: () => draw() });
  main.replaceChildren(el('h1', {}, 'Topics'), el('div', { class: 'bar' }, filter), holder);
  const columns = [
    { key: 'topic', label: 'Topic' },
    { key: 'subscriptions', label: 'Subscriptions', num: true },
    { key: 'consumers', label: 'Consumers', num: true },
    { key: 'backlog', label: 'Backlog', num: true },
  ];
  const draw = () =>
    holder.replaceChildren(
      sortable(
        columns,
        rows.filter((t) => t.topic.includes(filter.value)),
        (t) => columns.map((c) => el('td', { class: c.num ? 'num' : '' }, fmt(t[c.key]))),
      ),
    );
  every(5000, async () => {
    rows = await api('GET', '/api/topics');
    draw();
  });
}

async function connections() {
  const holder = el('div');
  main.replaceChildren(el('h1', {}, 'Connections'), holder);
  const columns = [
    { key: 'protocol', label: 'Protocol' },
    { key: 'protocolVersion', label: 'Version' },
    { key: 'clientId', label: 'Client id' },
    { key: 'user', label: 'User' },
    { key: 'remoteAddress', label: 'Address' },
    { key: 'transport', label: 'Transport' },
    { key: 'sessions', label: 'Sessions', num: true },
    { key: 'subscriptions', label: 'Consumes' },
    { key: 'messagesIn', label: 'In', num: true },
    { key: 'messagesOut', label: 'Out', num: true },
    { key: 'id', label: '' },
  ];
  every(5000, async () => {
    const rows = await api('GET', '/api/connections');
    holder.replaceChildren(
      sortable(columns, rows, (c) =>
        columns.map((col) =>
          col.key === 'id'
            ? el(
                'td',
                {},
                el(
                  'button',
                  {
                    class: 'danger',
                    onclick: async () => {
                      if (!confirm(`Close ${c.protocol} connection ${c.clientId ?? c.id}?`)) return;
                      await api('DELETE', `/api/connections/${encodeURIComponent(c.id)}`).then(
                        () => toast('Closed'),
                        (e) => toast(e.message),
                      );
                    },
                  },
                  'Close',
                ),
              )
            : el('td', { class: col.num ? 'num' : '' }, Array.isArray(c[col.key]) ? c[col.key].join(', ') : fmt(c[col.key])),
        ),
      ),
    );
  });
}

/** Delivery streams: source, bucket, what they buffer, what they wrote, and whether the destination fails. */
async function deliveryStreams() {
  const holder = el('div');
  main.replaceChildren(el('h1', {}, 'Delivery streams'), holder);
  const columns = [
    { key: 'name', label: 'Stream' },
    { key: 'sourceText', label: 'Source' },
    { key: 'bucket', label: 'Bucket' },
    { key: 'buffered', label: 'Buffered', num: true },
    { key: 'bufferedBytes', label: 'Buffered bytes', num: true },
    { key: 'objects', label: 'Objects', num: true },
    { key: 'records', label: 'Records', num: true },
    { key: 'lastDelivery', label: 'Last delivery' },
    { key: 'freshness', label: 'Freshness' },
    { key: 'failures', label: 'Retries', num: true },
    { key: 'failing', label: 'Failing since' },
  ];
  every(5000, async () => {
    const rows = (await api('GET', '/api/delivery-streams')).map((d) => ({
      ...d,
      sourceText: d.source.kind === 'topic' ? `topic ${d.source.topic}` : 'direct put',
      bucket: d.destination.bucket,
      buffered: d.bufferedEntries + d.inFlightRecords,
      lastDelivery: d.lastDeliveryAt ? `${since(Date.parse(d.lastDeliveryAt))} ago` : '',
      freshness: d.lastFreshnessMs !== undefined ? `${(d.lastFreshnessMs / 1000).toFixed(1)} s` : '',
      failing: d.failingSince ? `${since(Date.parse(d.failingSince))}: ${d.lastError ?? ''}` : '',
    }));
    holder.replaceChildren(
      rows.length === 0
        ? el('p', {}, 'No delivery streams: make one with the Firehose API, the admin API or firehose.deliveryStreams.')
        : sortable(columns, rows, (d) =>
            columns.map((col) =>
              el(
                'td',
                { class: `${col.num ? 'num' : ''}${col.key === 'failing' && d.failing ? ' error' : ''}`, 'data-col': col.key },
                fmt(d[col.key]),
              ),
            ),
          ),
    );
  });
}

/** Streams: mode, shards, retention and traffic; a row opens the stream. */
async function streams() {
  const holder = el('div');
  main.replaceChildren(el('h1', {}, 'Streams'), holder);
  const columns = [
    { key: 'name', label: 'Stream' },
    { key: 'mode', label: 'Mode' },
    { key: 'openShards', label: 'Open shards', num: true },
    { key: 'retentionHours', label: 'Retention (h)', num: true },
    { key: 'incomingRecords', label: 'Records in', num: true },
    { key: 'incomingBytes', label: 'Bytes in', num: true },
    { key: 'outgoingRecords', label: 'Records out', num: true },
    { key: 'iteratorAgeMs', label: 'Iterator age (ms)', num: true },
  ];
  every(5000, async () => {
    const rows = await api('GET', '/api/streams');
    holder.replaceChildren(
      rows.length === 0
        ? el('p', {}, 'No streams: make one with the Kinesis API, the admin API or a streams rule.')
        : sortable(
            columns,
            rows,
            (r) => columns.map((col) => el('td', { class: col.num ? 'num' : '', 'data-col': col.key }, fmt(r[col.key]))),
            (r) => (location.hash = `#/stream/${encodeURIComponent(r.name)}`),
          ),
    );
  });
}

/** One stream: its shards (ranges, lineage, records) and named consumers with their lag. */
async function streamPage(name) {
  const cards = el('div', { class: 'cards' });
  const shardBox = el('div', { id: 'shards' });
  const consumerBox = el('div', { id: 'stream-consumers' });
  main.replaceChildren(
    el('h1', {}, `Stream ${name}`),
    cards,
    el('h2', {}, 'Shards'),
    shardBox,
    el('h2', {}, 'Named consumers'),
    consumerBox,
  );
  const shardColumns = [
    { key: 'id', label: 'Shard' },
    { key: 'state', label: 'State' },
    { key: 'parent', label: 'Parent' },
    { key: 'records', label: 'Records', num: true },
    { key: 'startingHashKey', label: 'First hash key' },
    { key: 'newestAt', label: 'Newest record' },
  ];
  every(5000, async () => {
    const s = await api('GET', `/api/streams/${encodeURIComponent(name)}`);
    cards.replaceChildren(
      card('Records', fmt(s.records), 'stream-records'),
      card('Open shards', fmt(s.openShards), 'open-shards'),
      card('Mode', s.mode),
      card('Retention', `${s.retentionHours} h`),
      card('Records in', fmt(s.incomingRecords)),
      card('Records out', fmt(s.outgoingRecords)),
      card('Iterator age', `${fmt(s.iteratorAgeMs)} ms`),
    );
    const table = (columns, rows) =>
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            columns.map((c) => el('th', { class: c.num ? 'num' : '' }, c.label)),
          ),
        ),
        el(
          'tbody',
          {},
          rows.map((r) =>
            el(
              'tr',
              { 'data-name': r.id ?? r.name },
              columns.map((c) => el('td', { class: c.num ? 'num' : '', 'data-col': c.key }, fmt(r[c.key]))),
            ),
          ),
        ),
      );
    shardBox.replaceChildren(
      table(
        shardColumns,
        s.shardList.map((x) => ({ ...x, parent: [x.parent, x.adjacentParent].filter(Boolean).join(', ') })),
      ),
    );
    consumerBox.replaceChildren(
      s.consumers.length === 0
        ? el('p', { class: 'muted' }, 'No named consumers.')
        : table(
            [
              { key: 'name', label: 'Consumer' },
              { key: 'lagMs', label: 'Lag (ms)', num: true },
            ],
            s.consumers,
          ),
    );
  });
}

async function route() {
  stopRefresh();
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === hash);
  try {
    const b = await api('GET', '/api/broker');
    document.getElementById('nav').hidden = false;
    document.getElementById('signout').hidden = !state.auth;
    const who = document.getElementById('who');
    who.replaceChildren(`${b.node} `, el('span', { class: `badge ${b.role}`, id: 'role-badge' }, `${b.role} · epoch ${b.epoch}`));
    if (hash.startsWith('#/queue/')) await queuePage(decodeURIComponent(hash.slice('#/queue/'.length)));
    else if (hash === '#/queues') await queues();
    else if (hash === '#/topics') await topics();
    else if (hash === '#/connections') await connections();
    else if (hash === '#/delivery-streams') await deliveryStreams();
    else if (hash === '#/streams') await streams();
    else if (hash.startsWith('#/stream/')) await streamPage(decodeURIComponent(hash.slice('#/stream/'.length)));
    else await overview();
  } catch (e) {
    if (e.message !== 'unauthorized') main.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

document.getElementById('signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', route);
route();
