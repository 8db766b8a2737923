// Five things rhea 3 does not offer a broker, added here in one place:
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
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { Connection, Container } from 'rhea';

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

/** Applies fixes 1, 3, 4 and 5 to rhea's classes (once per process). */
export function patchRhea(): void {
  if (patched) return;
  patched = true;
  patchLinkNames();
  patchDrainAnswer();
  patchTypedMaps();
  patchRawMessages();
}

const RAW = Symbol('junction.amqp.raw');

/** The bytes a received message was decoded from. */
export function rawOf(m: object): Buffer | undefined {
  return (m as { [RAW]?: Buffer })[RAW];
}

function patchRawMessages(): void {
  const message = require('rhea/lib/message.js') as { decode: (b: Buffer) => object };
  const decode = message.decode;
  message.decode = (b: Buffer): object => {
    const m = decode(b);
    Object.defineProperty(m, RAW, { value: b });
    return m;
  };
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

/** Serves AMQP on a connection stream (TCP, TLS or WebSocket) that a listener has accepted. */
export function serveConnection(container: Container, socket: Duplex, options: Record<string, unknown>): Connection {
  const RheaConnection = require('rhea/lib/connection.js') as new (
    options: Record<string, unknown>,
    container: Container,
  ) => Connection & { accept(s: Duplex): void };
  const conn = new RheaConnection(options, container);
  conn.accept(socket);
  return conn;
}
