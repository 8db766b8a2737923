// An incremental STOMP frame parser. Written here rather than taken from a library because the
// maintained Node STOMP libraries are clients whose parsers stream bodies or assume one version;
// a broker needs byte-exact bodies, per-version header escaping, limits on every part of a frame,
// and errors it can report instead of exceptions that escape.
//
// Rules (STOMP 1.0-1.2): frames may be preceded by EOLs (heart-beats); lines end in LF or CRLF; the
// first of repeated headers wins; CONNECT/CONNECTED headers are never unescaped, others are from 1.1
// on (\n \c \\, and \r from 1.2); a body runs to `content-length` bytes (then a NUL) or to the first
// NUL. Any violation or exceeded limit is a StompProtocolError; nothing else is thrown.
import { CLIENT_COMMANDS, SERVER_COMMANDS, StompProtocolError, type StompFrame, type StompVersion } from './frame.ts';

export interface ParserLimits {
  /** Longest command or header line, in bytes. */
  maxLineBytes: number;
  maxHeaders: number;
  /** All header lines of a frame together, in bytes. */
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

export const DEFAULT_LIMITS: ParserLimits = {
  maxLineBytes: 8 * 1024,
  maxHeaders: 1000,
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 16 * 1024 * 1024,
};

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

interface Pending {
  command: string;
  headers: Map<string, string>;
  /** Body length from content-length, or undefined for a NUL-terminated body. */
  length: number | undefined;
}

export class StompParser {
  /** Header unescaping follows this version (set once CONNECT is negotiated). */
  version: StompVersion = '1.2';
  private buf: Buffer = Buffer.alloc(0);
  /** Chunks held back while a long body arrives (joined once it is complete). */
  private chunks: Buffer[] = [];
  private held = 0;
  private pending: Pending | undefined;
  /** Where to resume looking for the NUL of a body without content-length. */
  private scanFrom = 0;

  constructor(
    /** What a frame may hold; a connection raises them once its CONNECT is accepted. */
    public limits: ParserLimits = DEFAULT_LIMITS,
    /** 'server' parses what clients send; 'client' parses what a server sends. */
    private readonly side: 'server' | 'client' = 'server',
  ) {}

  /** Feeds bytes; returns the frames they complete. `onBeat` hears each heart-beat EOL. */
  push(chunk: Buffer, onBeat?: () => void): StompFrame[] {
    if (this.pending?.length !== undefined) {
      this.chunks.push(chunk);
      this.held += chunk.length;
      if (this.buf.length + this.held < this.pending.length + 1) return [];
      this.buf = Buffer.concat([this.buf, ...this.chunks]);
      this.chunks = [];
      this.held = 0;
    } else {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    }
    const out: StompFrame[] = [];
    let pos = 0;
    for (;;) {
      if (!this.pending) {
        while (pos < this.buf.length) {
          const b = this.buf[pos];
          if (b === LF) pos++;
          else if (b === CR && this.buf[pos + 1] === LF) pos += 2;
          else if (b === CR && pos + 1 === this.buf.length) break;
          else break;
          onBeat?.();
        }
        if (pos >= this.buf.length) break;
        const head = this.readHead(pos);
        if (!head) break;
        this.pending = head.pending;
        pos = head.next;
        this.scanFrom = pos;
      }
      const p = this.pending;
      let end: number;
      if (p.length !== undefined) {
        if (this.buf.length - pos < p.length + 1) break;
        end = pos + p.length;
        if (this.buf[end] !== NUL)
          throw new StompProtocolError(`Frame ${p.command}: no NUL after the ${p.length}-byte body its content-length announced`);
      } else {
        end = this.buf.indexOf(NUL, this.scanFrom);
        if (end < 0) {
          if (this.buf.length - pos > this.limits.maxBodyBytes) throw this.tooBig(p.command);
          this.scanFrom = this.buf.length;
          break;
        }
        if (end - pos > this.limits.maxBodyBytes) throw this.tooBig(p.command);
      }
      out.push({ command: p.command, headers: p.headers, body: Buffer.from(this.buf.subarray(pos, end)) });
      this.pending = undefined;
      pos = end + 1;
    }
    this.buf = pos === 0 ? this.buf : this.buf.subarray(pos);
    this.scanFrom = Math.max(0, this.scanFrom - pos);
    return out;
  }

  private tooBig(command: string): StompProtocolError {
    return new StompProtocolError(`Frame ${command}: body larger than ${this.limits.maxBodyBytes} bytes`);
  }

  /** Reads command and headers from `start`; undefined when they are not all here yet. */
  private readHead(start: number): { pending: Pending; next: number } | undefined {
    const lim = this.limits;
    let pos = start;
    const line = (): string | undefined => {
      const nl = this.buf.indexOf(LF, pos);
      if (nl < 0) {
        if (this.buf.length - pos > lim.maxLineBytes) throw new StompProtocolError(`Frame line longer than ${lim.maxLineBytes} bytes`);
        return undefined;
      }
      if (nl - pos > lim.maxLineBytes) throw new StompProtocolError(`Frame line longer than ${lim.maxLineBytes} bytes`);
      const stop = nl > pos && this.buf[nl - 1] === CR ? nl - 1 : nl;
      const s = this.buf.toString('utf8', pos, stop);
      pos = nl + 1;
      return s;
    };
    const command = line();
    if (command === undefined) return undefined;
    const allowed = this.side === 'server' ? CLIENT_COMMANDS : SERVER_COMMANDS;
    if (!allowed.has(command)) {
      throw new StompProtocolError(
        `Unknown command "${command.slice(0, 64)}"`,
        `Commands a ${this.side === 'server' ? 'client' : 'server'} may send: ${[...allowed].join(', ')}`,
      );
    }
    const raw = command === 'CONNECT' || command === 'STOMP' || command === 'CONNECTED' || this.version === '1.0';
    const headers = new Map<string, string>();
    let count = 0;
    for (;;) {
      const l = line();
      if (l === undefined) {
        if (this.buf.length - start > lim.maxHeaderBytes)
          throw new StompProtocolError(`Frame ${command}: headers larger than ${lim.maxHeaderBytes} bytes`);
        return undefined;
      }
      if (l === '') break;
      if (pos - start > lim.maxHeaderBytes)
        throw new StompProtocolError(`Frame ${command}: headers larger than ${lim.maxHeaderBytes} bytes`);
      if (++count > lim.maxHeaders) throw new StompProtocolError(`Frame ${command}: more than ${lim.maxHeaders} headers`);
      const colon = l.indexOf(':');
      if (colon < 0) throw new StompProtocolError(`Frame ${command}: header line without a colon: "${l.slice(0, 64)}"`);
      const name = raw ? l.slice(0, colon) : this.unescape(l.slice(0, colon), command);
      const value = raw ? l.slice(colon + 1) : this.unescape(l.slice(colon + 1), command);
      if (!headers.has(name)) headers.set(name, value);
    }
    let length: number | undefined;
    const cl = headers.get('content-length');
    if (cl !== undefined) {
      if (!/^\d{1,10}$/.test(cl.trim()))
        throw new StompProtocolError(`Frame ${command}: content-length "${cl.slice(0, 32)}" is not a byte count`);
      length = Number(cl.trim());
      if (length > lim.maxBodyBytes) throw this.tooBig(command);
    }
    return { pending: { command, headers, length }, next: pos };
  }

  private unescape(s: string, command: string): string {
    if (!s.includes('\\')) return s;
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c !== '\\') {
        out += c;
        continue;
      }
      const n = s[++i];
      if (n === 'n') out += '\n';
      else if (n === 'c') out += ':';
      else if (n === '\\') out += '\\';
      else if (n === 'r' && this.version === '1.2') out += '\r';
      else throw new StompProtocolError(`Frame ${command}: undefined escape "\\${n ?? ''}" in a header`);
    }
    return out;
  }
}
