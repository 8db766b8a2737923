// Eleven things rhea 3 does not offer a broker, added here in one place:
// 1. Links keyed by name only: proton clients give a sender and a receiver on one session the same
//    name (`<container>-q1`), and rhea then refuses the second attach ("Attach already received")
//    and errors the connection. The patch keys the links a peer attaches by name and role.
// 2. Serving a connection someone else accepted: rhea only accepts connections on servers it opens
//    itself, while Junction's listener factory owns every port, TLS and WebSocket.
// 3. Answering a drain at once: Sender.set_drained marks the flow frame that ends a drain but, unlike
//    Receiver.flow, never asks the connection to write it, so the answer waited for some unrelated
//    frame. A drain on an empty queue (Qpid JMS receive() with prefetch 0) went unanswered.
// 4. Symbol keys in a map field: an error's `info` (and other `map` fields) are wrapped from a plain
//    object, whose keys become strings, and an already-typed map passed instead is wrapped again as
//    if it were a plain object. Clients read `invalid-field: container-id` with symbol keys (AMQP
//    1.0 §2.8.15), so a typed map (types.wrap_symbolic_map) is now kept as it is.
// 5. The message as it came: rhea hands a receiver only the decoded message, while the broker keeps
//    the encoded one (AMQP's bare message is immutable). Each decoded message now carries the bytes
//    it was decoded from (`rawOf`).
// 6. Transactions (AMQP 1.0 §4): rhea knows none of the coordinator's types, so a coordinator
//    target read as no target at all (the anonymous relay) and a transactional-state was logged as
//    an unrecognised outcome and lost. Their composites are defined here: the coordinator target,
//    declare, discharge, declared and transactional-state (a disposition carrying one is told as
//    the event `transactional_state`).
// 7. A bound on what a client's frames make it buffer: a served connection's input passes through a
//    FrameSizeGuard (frame-guard.ts) first, and stops at the first frame over the bound.
// 8. A bound on a message still arriving: rhea gathers the transfers of a delivery until the last,
//    however many, and only then could the link's max-message-size be checked. A delivery that
//    grows past the receiving link's max-message-size now ends the link at once with
//    amqp:link:message-size-exceeded, and what it had gathered is let go.
// 9. A bound on what decoding a message costs: before rhea decodes a received message, its values
//    are counted (value-count.ts) against the connection's `MAX_MESSAGE_VALUES` option; a message
//    over it is handed over undecoded, marked (`overBudget`), for the adapter to reject.
// 10. Whose connection a SASL mechanism serves: rhea makes a server mechanism with no arguments, and
//    EXTERNAL must know the connection (its TLS client certificate names the user). The factory is
//    now called with the connection.
// 11. Transfers without typed fields: rhea's session makes each transfer performative a composite of
//    typed values and writes its frame through a fresh 1 KiB writer. The transfers it sends are now
//    plain records, framed by transfer-frame.ts into the same bytes.
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { Connection, Container } from 'rhea';
import { FrameSizeGuard } from './frame-guard.ts';
import { encodeTransferFrame, type TransferFields } from './transfer-frame.ts';
import { EncodingError, countValues } from './value-count.ts';

const require = createRequire(import.meta.url);

interface RheaLink {
  name: string;
  is_sender(): boolean;
  remote: { handle: number; attach?: unknown };
  local: { handle: number };
  on_attach(frame: AttachFrame): void;
  /** The key this patch stored the link under. */
  junctionKey?: string;
}

interface AttachFrame {
  performative: { name: string; handle: number; role: boolean };
}

interface RheaSession {
  links: Record<string, RheaLink>;
  remote: { handles: Record<number, RheaLink> };
  local: { handles: Record<number, RheaLink> };
  create_sender(name: string): RheaLink;
  create_receiver(name: string): RheaLink;
}

interface RheaSender {
  issue_flow: boolean;
  connection: { _register(): void };
}

let patched = false;

/** Applies fixes 1, 3, 4, 5, 6, 8, 9, 10 and 11 to rhea's classes (once per process). */
export function patchRhea(): void {
  if (patched) return;
  patched = true;
  patchLinkNames();
  patchDrainAnswer();
  patchTypedMaps();
  patchRawMessages();
  defineTransactionTypes();
  patchIncompleteDeliveries();
  patchSaslConnection();
  patchTransfers();
}

/** A server SASL mechanism's factory, told whose connection it serves (patch 10). */
export type SaslServerMechanism = (connection: Connection) => {
  outcome: boolean | undefined;
  username: string | undefined;
  start(response?: Buffer, hostname?: string): unknown;
  step?(response?: Buffer): unknown;
};

/** A transfer rhea's session sends, kept as its fields until its frame is written. */
class PlainTransfer {
  constructor(readonly fields: TransferFields) {}
}

function patchTransfers(): void {
  const frames = require('rhea/lib/frames.js') as {
    transfer: (fields: TransferFields) => unknown;
    write_frame: (frame: { channel: number; performative?: unknown; payload?: Buffer }) => Buffer;
  };
  const transfer = frames.transfer;
  frames.transfer = (fields: TransferFields): unknown =>
    Buffer.isBuffer(fields.delivery_tag) ? new PlainTransfer(fields) : transfer(fields);
  const writeFrame = frames.write_frame;
  frames.write_frame = (frame) =>
    frame.performative instanceof PlainTransfer
      ? encodeTransferFrame(frame.channel, frame.performative.fields, frame.payload)
      : writeFrame(frame);
}

function patchSaslConnection(): void {
  const { Server } = require('rhea/lib/sasl.js') as { Server: { prototype: Record<string, unknown> } };
  const onInit = Server.prototype.on_sasl_init as (this: RheaSaslServer, frame: SaslInitFrame) => void;
  Server.prototype.on_sasl_init = function (this: RheaSaslServer, frame: SaslInitFrame): void {
    const mechanisms = this.mechanisms;
    const connection = this.connection;
    // The mechanisms object rhea calls the factory on, with each factory bound to this connection.
    this.mechanisms = new Proxy(mechanisms, {
      get: (target, name) => {
        const factory = Reflect.get(target, name) as unknown;
        return typeof factory === 'function' ? () => (factory as (c: Connection) => unknown).call(target, connection) : factory;
      },
    });
    try {
      onInit.call(this, frame);
    } finally {
      this.mechanisms = mechanisms;
    }
  };
}

interface RheaSaslServer {
  connection: Connection;
  mechanisms: Record<string, unknown>;
}

interface SaslInitFrame {
  performative: { mechanism: string; initial_response?: Buffer; hostname?: string };
}

/** Set on a delivery whose transfers went past its link's max-message-size: it is not a message. */
export const DISCARDED = Symbol('junction.amqp.discarded');

interface RheaReceiver {
  _incomplete?: { frames?: Buffer[]; format?: number; [DISCARDED]?: boolean };
  local: { attach?: { max_message_size?: number } };
  is_open(): boolean;
  close(error: { condition: string; description: string }): void;
}

function patchIncompleteDeliveries(): void {
  const Session = require('rhea/lib/session.js') as { prototype: Record<string, unknown> };
  const onTransfer = Session.prototype.on_transfer as (this: { _get_link(f: unknown): RheaReceiver | undefined }, frame: unknown) => void;
  Session.prototype.on_transfer = function (
    this: { _get_link(f: unknown): RheaReceiver | undefined; connection?: { options?: Record<string, unknown> } },
    frame: unknown,
  ): void {
    const budget = this.connection?.options?.[MAX_MESSAGE_VALUES];
    decodingBudget = typeof budget === 'number' ? budget : 0;
    try {
      onTransfer.call(this, frame);
    } finally {
      decodingBudget = 0;
    }
    const receiver = this._get_link(frame);
    const current = receiver?._incomplete;
    const frames = current?.frames;
    const max = Number(receiver?.local.attach?.max_message_size ?? 0);
    if (!receiver || !current || !frames || !(max > 0)) return;
    if (current[DISCARDED]) {
      frames.length = 0;
      return;
    }
    let size = 0;
    for (const f of frames) size += f.length;
    if (size <= max) return;
    frames.length = 0;
    // Completed, it is handed over undecoded (a format other than 0), and the adapter skips it.
    current[DISCARDED] = true;
    current.format = 0xffffffff;
    if (receiver.is_open()) {
      receiver.close({
        condition: 'amqp:link:message-size-exceeded',
        description: `A message of more than ${max} bytes is over this link's max-message-size (amqp.maxMessageBytes)`,
      });
    }
  };
}

const RAW = Symbol('junction.amqp.raw');

/** The bytes a received message was decoded from. */
export function rawOf(m: object): Buffer | undefined {
  return (m as { [RAW]?: Buffer })[RAW];
}

/** The connection option (a number) that bounds the values of one received message (fix 9). */
export const MAX_MESSAGE_VALUES = 'junction_max_message_values';
const OVER_BUDGET = Symbol('junction.amqp.overBudget');
/** The bound of the connection whose transfer is being read (rhea decodes synchronously within it). */
let decodingBudget = 0;

/** How many values a message had when it was not decoded for having more than its connection allows. */
export function overBudget(m: object): number | undefined {
  return (m as { [OVER_BUDGET]?: number })[OVER_BUDGET];
}

function patchRawMessages(): void {
  const message = require('rhea/lib/message.js') as { decode: (b: Buffer) => object };
  const decode = message.decode;
  message.decode = (b: Buffer): object => {
    if (decodingBudget > 0) {
      let values = 0;
      try {
        values = countValues(b, decodingBudget);
      } catch (err) {
        if (!(err instanceof EncodingError)) throw err;
      }
      if (values > decodingBudget) {
        const m = { [OVER_BUDGET]: values };
        Object.defineProperty(m, RAW, { value: b });
        return m;
      }
    }
    const m = decode(b);
    Object.defineProperty(m, RAW, { value: b });
    return m;
  };
}

/** A composite value rhea decoded (fields by name) or will encode (`described()`). */
export interface Composite {
  described(): unknown;
  [field: string]: unknown;
}

interface CompositeType {
  new (fields?: unknown[]): Composite;
  create(fields: Record<string, unknown>): Composite;
  composite_type?: string;
}

/** rhea's outcome constructors, which its typings omit. */
export const outcomes = require('rhea/lib/message.js') as {
  accepted(): Composite;
  rejected(fields: { error: { condition: string; description: string } }): Composite;
  unwrap_outcome(o: unknown): unknown;
};

/** The coordinator's types (AMQP 1.0 §4.5), defined by `patchRhea`. */
export const txnTypes: {
  coordinator?: CompositeType;
  declare?: CompositeType;
  discharge?: CompositeType;
  declared?: CompositeType;
  transactionalState?: CompositeType;
} = {};

function defineTransactionTypes(): void {
  const types = require('rhea/lib/types.js') as {
    define_composite(def: unknown): CompositeType;
    unwrap(o: unknown, leaveDescribed?: boolean): unknown;
  };
  // rhea looks composites up by descriptor in a registry of its own it does not export: these
  // are looked up here first, by code and by symbolic name.
  const registry = new Map<number | string, CompositeType>();
  const define = (name: string, code: number, fields: unknown[]): CompositeType => {
    const c = types.define_composite({ name, code, fields });
    registry.set(code, c);
    registry.set(`amqp:${name.replace(/_/g, '-')}:list`, c);
    return c;
  };
  txnTypes.coordinator = define('coordinator', 0x30, [{ name: 'capabilities', type: 'symbol', multiple: true }]);
  txnTypes.declare = define('declare', 0x31, [{ name: 'global_id', type: '*' }]);
  txnTypes.discharge = define('discharge', 0x32, [
    { name: 'txn_id', type: 'binary', mandatory: true },
    { name: 'fail', type: 'boolean' },
  ]);
  const declared = define('declared', 0x33, [{ name: 'txn_id', type: 'binary', mandatory: true }]);
  declared.composite_type = 'declared';
  txnTypes.declared = declared;
  const state = define('transactional_state', 0x34, [
    { name: 'txn_id', type: 'binary', mandatory: true },
    { name: 'outcome', type: '*' },
  ]);
  state.composite_type = 'transactional_state';
  txnTypes.transactionalState = state;
  const registered = (o: unknown): CompositeType | undefined => {
    const d = (o as { descriptor?: { value?: unknown } } | null)?.descriptor?.value;
    return typeof d === 'number' || typeof d === 'string' ? registry.get(d) : undefined;
  };
  const unwrap = types.unwrap;
  types.unwrap = (o: unknown, leaveDescribed?: boolean): unknown => {
    const c = registered(o);
    return c ? new c((o as { value: unknown[] }).value) : unwrap(o, leaveDescribed);
  };
  const terminus = require('rhea/lib/terminus.js') as { unwrap(field: unknown): unknown };
  const unwrapTerminus = terminus.unwrap;
  terminus.unwrap = (field: unknown): unknown => {
    const c = registered(field);
    return c ? new c((field as { value: unknown[] }).value) : unwrapTerminus(field);
  };
  const message = require('rhea/lib/message.js') as { unwrap_outcome(o: unknown): unknown };
  const unwrapOutcome = message.unwrap_outcome;
  message.unwrap_outcome = (o: unknown): unknown => {
    const c = registered(o);
    return c ? new c((o as { value: unknown[] }).value) : unwrapOutcome(o);
  };
}

/** Reads one encoded AMQP value (rhea's Reader, which its typings omit), composites included. */
export function readValue(b: Buffer): unknown {
  const types = require('rhea/lib/types.js') as { Reader: new (b: Buffer) => { read(): unknown }; unwrap(o: unknown): unknown };
  return types.unwrap(new types.Reader(b).read());
}

function patchTypedMaps(): void {
  const types = require('rhea/lib/types.js') as { wrap_map: (m: unknown, keyWrapper?: unknown) => unknown };
  const wrapMap = types.wrap_map;
  types.wrap_map = (m: unknown, keyWrapper?: unknown): unknown =>
    m !== null && typeof m === 'object' && typeof (m as { toRheaTyped?: unknown }).toRheaTyped === 'function' ? m : wrapMap(m, keyWrapper);
}

function patchDrainAnswer(): void {
  const { Sender } = require('rhea/lib/link.js') as { Sender: { prototype: Record<string, unknown> } };
  const setDrained = Sender.prototype.set_drained as (this: RheaSender, drained: boolean) => void;
  Sender.prototype.set_drained = function (this: RheaSender, drained: boolean): void {
    setDrained.call(this, drained);
    if (this.issue_flow) this.connection._register();
  };
}

function patchLinkNames(): void {
  // rhea's internals have no typings; the shapes used are declared above.
  const Session = require('rhea/lib/session.js') as { prototype: Record<string, unknown> };
  Session.prototype.on_attach = function (this: RheaSession, frame: AttachFrame): void {
    const { name, role } = frame.performative;
    // role true: the peer receives, so our end is a sender.
    const key = `${role ? 'sender' : 'receiver'}\u0000${name}`;
    // A link this end opened itself is stored under its plain name (rhea's own clients do that).
    const own = this.links[name];
    let link = this.links[key] ?? (own && own.is_sender() === role ? own : undefined);
    if (!link) {
      link = role ? this.create_sender(name) : this.create_receiver(name);
      if (this.links[name] === link) delete this.links[name];
      this.links[key] = link;
      link.junctionKey = key;
    }
    this.remote.handles[frame.performative.handle] = link;
    link.on_attach(frame);
    link.remote.attach = frame.performative;
  };
  Session.prototype.remove_link = function (this: RheaSession, link: RheaLink): void {
    delete this.remote.handles[link.remote.handle];
    delete this.local.handles[link.local.handle];
    delete this.links[link.junctionKey ?? link.name];
  };
}

/** What a served connection does at a frame over its bound; it reads nothing more from then on. */
export interface FrameBound {
  limit(conn: Connection): number;
  tooBig(conn: Connection, over: { size: number; limit: number }): void;
}

/** Serves AMQP on a connection stream (TCP, TLS or WebSocket) that a listener has accepted. */
export function serveConnection(container: Container, socket: Duplex, options: Record<string, unknown>, bound?: FrameBound): Connection {
  const RheaConnection = require('rhea/lib/connection.js') as new (
    options: Record<string, unknown>,
    container: Container,
  ) => Connection & { accept(s: Duplex): void; input(b: Buffer): void };
  const conn = new RheaConnection(options, container);
  if (bound) {
    // rhea reads the socket through `this.input`, bound when it accepts: the guarded one goes first.
    const input = conn.input;
    const guard = new FrameSizeGuard(() => bound.limit(conn));
    let stopped = false;
    conn.input = (b: Buffer): void => {
      if (stopped) return;
      const over = guard.feed(b);
      if (!over) return input.call(conn, b);
      stopped = true;
      if (over.at > 0) input.call(conn, b.subarray(0, over.at));
      bound.tooBig(conn, over);
    };
  }
  conn.accept(socket);
  return conn;
}
