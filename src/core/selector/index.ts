// JMS message selectors: compile a selector string once, then test messages against it.
// Hand-written (lexer, parser, evaluator) because no maintained npm package implements JMS
// selector semantics (JMS header names, NULL three-valued logic, LIKE ... ESCAPE); the grammar is
// small and a hand-written parser gives positioned error messages and is easy to fuzz.
import type { Message, PropertyValue } from '../message.ts';
import type { Value } from './ast.ts';
import { evaluate } from './evaluate.ts';
import { parseSelector } from './parser.ts';

export { parseSelector } from './parser.ts';

/** A message as a selector sees it: the record plus the per-queue delivery facts. */
export interface SelectorView {
  message: Message;
  deliveryCount: number;
  annotations?: Readonly<Record<string, PropertyValue>> | undefined;
}

export interface Selector {
  readonly text: string;
  matches(view: SelectorView): boolean;
}

function resolve(view: SelectorView, name: string): Value {
  const m = view.message;
  switch (name) {
    case 'JMSMessageID':
      return m.id;
    case 'JMSPriority':
      return m.priority;
    case 'JMSTimestamp':
      return m.timestamp;
    case 'JMSCorrelationID':
      return m.correlationId ?? null;
    case 'JMSType':
      return m.type ?? null;
    case 'JMSDeliveryMode':
      return m.persistent ? 'PERSISTENT' : 'NON_PERSISTENT';
    case 'JMSExpiration':
      return m.expiresAt;
    case 'JMSRedelivered':
      return view.deliveryCount > 0;
    case 'JMSXDeliveryCount':
      return view.deliveryCount + 1;
    case 'JMSXGroupID':
      return m.groupId ?? null;
    case 'JMSXUserID':
      return m.userId ?? null;
  }
  const p = m.properties[name] ?? view.annotations?.[name];
  return p === undefined ? null : p;
}

/**
 * ActiveMQ's selector prefix (its STOMP transport puts it before every selector; Artemis accepts
 * it): strings compared with numbers or booleans are converted, so `weight > 5` matches a
 * property `weight` of "10".
 */
export const CONVERT_STRING_EXPRESSIONS = 'convert_string_expressions:';

/** Compiles a selector; throws SelectorSyntaxError with the position of the first error. */
export function compileSelector(text: string): Selector {
  const convert = text.startsWith(CONVERT_STRING_EXPRESSIONS);
  const tree = parseSelector(convert ? text.slice(CONVERT_STRING_EXPRESSIONS.length) : text);
  return {
    text,
    matches(view: SelectorView): boolean {
      return evaluate(tree, (name) => resolve(view, name), convert) === true;
    },
  };
}

/** A selector of only whitespace selects everything, as in JMS; it compiles to undefined. */
export function compileOptionalSelector(text: string | undefined): Selector | undefined {
  if (text === undefined || text.trim() === '' || text.trim() === CONVERT_STRING_EXPRESSIONS) return undefined;
  return compileSelector(text);
}
