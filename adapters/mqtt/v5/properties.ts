// Checks on MQTT 5 properties that mqtt-packet's parser leaves to the receiver. It reads a property
// that appears twice into an array instead of failing, and the specification makes a second copy
// of any property but User Property (and Subscription Identifier, in a PUBLISH from the broker) a
// Protocol Error (§2.2.2.2). And a budget on what one property section may hold, checked before
// mqtt-packet parses it: a section of millions of User Properties inside a legal packet would keep
// the event loop for seconds (its parser turns each into an object), long enough for the broker's
// lease to lapse.
import { scanUserProperties } from '../user-properties.ts';

/** A property section over its budget (mqtt.maxPropertyBytes, mqtt.maxUserProperties). */
export class PropertyBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyBudgetError';
  }
}

/** The parts of mqtt-packet 9's Parser read here (not in its typings). */
interface ParserInternals {
  _pos: number;
  _list: { length: number; get(index: number): number; slice(start: number, end: number): Buffer };
  _parseProperties(): unknown;
  _emitError(err: Error): void;
}

/**
 * Makes `parser` (an mqtt-packet 9 Parser) refuse a property section longer than `maxBytes` or
 * holding more than `maxUserProperties` User Properties before it parses the section: it reports a
 * PropertyBudgetError as its 'error' instead.
 */
export function limitProperties(parser: object, maxBytes: number, maxUserProperties: number): void {
  const p = parser as ParserInternals;
  const parseProperties = p._parseProperties;
  p._parseProperties = function (this: ParserInternals): unknown {
    let length = 0;
    let prefix = 0;
    for (let multiplier = 1; prefix < 4 && this._pos + prefix < this._list.length; multiplier *= 128) {
      const b = this._list.get(this._pos + prefix++);
      length += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) break;
    }
    if (length > maxBytes) {
      this._emitError(new PropertyBudgetError(`properties of ${length} bytes are over the limit of ${maxBytes} (mqtt.maxPropertyBytes)`));
      return false;
    }
    if (length > 0 && this._pos + prefix + length <= this._list.length) {
      let count: number;
      try {
        count = scanUserProperties(this._list.slice(this._pos, this._pos + prefix + length)).pairs.length;
      } catch {
        count = 0; // malformed: mqtt-packet's own parse reports it
      }
      if (count > maxUserProperties) {
        this._emitError(
          new PropertyBudgetError(`${count} User Properties are over the limit of ${maxUserProperties} (mqtt.maxUserProperties)`),
        );
        return false;
      }
    }
    return parseProperties.call(this);
  };
}

/** The name of a property that appears more than once where it must be unique, or undefined. */
export function duplicateProperty(properties: object | undefined): string | undefined {
  if (!properties) return undefined;
  for (const [name, value] of Object.entries(properties)) {
    if (name !== 'userProperties' && Array.isArray(value)) return name;
  }
  return undefined;
}
