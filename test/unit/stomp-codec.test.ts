// The STOMP codec: frames round-trip through serializer and parser whatever their headers and
// bodies hold and however the bytes are split; arbitrary bytes only ever produce a
// StompProtocolError; limits and per-version escaping hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StompProtocolError, type StompVersion } from '../../adapters/stomp/frame.ts';
import { StompParser, type ParserLimits, DEFAULT_LIMITS } from '../../adapters/stomp/parser.ts';
import { encodeFrame } from '../../adapters/stomp/serializer.ts';

const commands = ['SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT'];

function parseAll(bytes: Buffer, cuts: number[], version: StompVersion = '1.2', limits?: ParserLimits) {
  const p = new StompParser(limits);
  p.version = version;
  const frames = [];
  let at = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b), bytes.length]) {
    frames.push(...p.push(bytes.subarray(at, c)));
    at = c;
  }
  return frames;
}

const headerText = fc.string({
  unit: fc.oneof(fc.constantFrom(':', '\n', '\r', '\\', 'a', ' ', 'é', '\0'), fc.string({ minLength: 1, maxLength: 1 })),
  maxLength: 20,
});

describe('STOMP codec', () => {
  it('any frame round-trips under 1.2, in one piece or split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            command: fc.constantFrom(...commands),
            headers: fc.uniqueArray(
              fc.tuple(
                headerText.filter((s) => s !== 'content-length'),
                headerText,
              ),
              { selector: ([k]) => k, maxLength: 6 },
            ),
            body: fc.uint8Array({ maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 8 }),
        fc.boolean(),
        (frames, cuts, beats) => {
          const bytes = Buffer.concat(
            frames.flatMap((f) => [beats ? Buffer.from('\r\n\n') : Buffer.alloc(0), encodeFrame(f.command, f.headers, f.body, '1.2')]),
          );
          const got = parseAll(bytes, cuts);
          expect(got.map((g) => g.command)).toEqual(frames.map((f) => f.command));
          got.forEach((g, i) => {
            const f = frames[i]!;
            expect(Buffer.compare(g.body, Buffer.from(f.body))).toBe(0);
            for (const [k, v] of f.headers) expect(g.headers.get(k)).toBe(v);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes never throw anything but a StompProtocolError', () => {
    const limits = { ...DEFAULT_LIMITS, maxBodyBytes: 200, maxLineBytes: 64, maxHeaderBytes: 256, maxHeaders: 5 };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 40 }),
            fc.constantFrom(
              ...['SEND\n', 'ACK\n', '\n', '\0', 'a:b\n', 'content-length:3\n', 'x\\q:y\n'].map((s) => new Uint8Array(Buffer.from(s))),
            ),
          ),
          { maxLength: 30 },
        ),
        fc.constantFrom<StompVersion>('1.0', '1.1', '1.2'),
        (parts, version) => {
          const p = new StompParser(limits);
          p.version = version;
          try {
            for (const part of parts) p.push(Buffer.from(part));
          } catch (err) {
            expect(err).toBeInstanceOf(StompProtocolError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps NUL bytes in a body with content-length, and takes a body to the NUL without one', () => {
    const bin = Buffer.from([1, 0, 2, 0, 0, 255]);
    const [withLength] = parseAll(encodeFrame('SEND', [['destination', '/queue/a']], bin, '1.2'), []);
    expect(withLength!.body).toEqual(bin);
    const [plain] = parseAll(Buffer.from('SEND\r\ndestination:/queue/a\r\n\r\nhello\0'), [7, 20]);
    expect(plain!.body.toString()).toBe('hello');
    expect(plain!.headers.get('destination')).toBe('/queue/a');
  });

  it('lets the first of repeated headers win', () => {
    const [f] = parseAll(Buffer.from('SEND\nfoo:first\nfoo:second\n\n\0'), []);
    expect(f!.headers.get('foo')).toBe('first');
  });

  it('unescapes by version: 1.2 knows \\r, 1.1 does not, 1.0 and CONNECT take headers raw', () => {
    const frame = Buffer.from('SEND\na\\cb:c\\nd\\\\e\n\n\0');
    expect(parseAll(frame, [], '1.2')[0]!.headers.get('a:b')).toBe('c\nd\\e');
    expect(parseAll(frame, [], '1.0')[0]!.headers.get('a\\cb')).toBe('c\\nd\\\\e');
    expect(() => parseAll(Buffer.from('SEND\nx:\\r\n\n\0'), [], '1.1')).toThrow(/undefined escape "\\r"/);
    expect(parseAll(Buffer.from('SEND\nx:\\r\n\n\0'), [], '1.2')[0]!.headers.get('x')).toBe('\r');
    expect(parseAll(Buffer.from('CONNECT\nlogin:a\\cb\n\n\0'), [], '1.2')[0]!.headers.get('login')).toBe('a\\cb');
    expect(() => parseAll(Buffer.from('SEND\nx:\\t\n\n\0'), [], '1.2')).toThrow(StompProtocolError);
  });

  it('enforces its limits with readable errors', () => {
    const limits = { maxLineBytes: 100, maxHeaders: 3, maxHeaderBytes: 200, maxBodyBytes: 10 };
    expect(() => parseAll(Buffer.from(`SEND\n${'x'.repeat(150)}:y\n\n\0`), [], '1.2', limits)).toThrow(/line longer than 100 bytes/);
    expect(() => parseAll(Buffer.from('SEND\na:1\nb:2\nc:3\nd:4\n\n\0'), [], '1.2', limits)).toThrow(/more than 3 headers/);
    expect(() => parseAll(Buffer.from('SEND\n\n01234567890\0'), [], '1.2', limits)).toThrow(/body larger than 10 bytes/);
    expect(() => parseAll(Buffer.from('SEND\ncontent-length:11\n\n'), [], '1.2', limits)).toThrow(/body larger than 10 bytes/);
    expect(() => parseAll(Buffer.from('SEND\ncontent-length:2\n\nabc\0'), [], '1.2', limits)).toThrow(/no NUL after the 2-byte body/);
    expect(() => parseAll(Buffer.from('SEND\ncontent-length:-1\n\n\0'), [], '1.2', limits)).toThrow(/not a byte count/);
    expect(() => parseAll(Buffer.from('HELLO\n\n\0'), [])).toThrow(/Unknown command "HELLO"/);
    expect(() => parseAll(Buffer.from('SEND\nnocolon\n\n\0'), [])).toThrow(/header line without a colon/);
  });

  it('writes 1.0 and 1.1 headers the way those versions read them', () => {
    const frame = encodeFrame('MESSAGE', [['k', 'a:b\nc\rd']], undefined, '1.1').toString();
    expect(frame).toBe('MESSAGE\nk:a\\cb\\nc d\n\n\0');
    expect(encodeFrame('MESSAGE', [['k', 'a:b\nc']], undefined, '1.0').toString()).toBe('MESSAGE\nk:a:b c\n\n\0');
    expect(encodeFrame('CONNECTED', [['version', '1.2']], undefined, '1.2').toString()).toBe('CONNECTED\nversion:1.2\n\n\0');
  });
});
