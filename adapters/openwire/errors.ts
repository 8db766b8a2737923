// The OpenWire adapter's errors: a frame that cannot be decoded (the connection ends), and a command
// refused with the Java exception class the client maps to a JMSException subclass.
import { JunctionError, type ErrorCode } from '../../src/shared/errors.ts';

/** Bytes that are not OpenWire, or that break a limit: the connection is closed. */
export class OpenWireCodecError extends Error {
  override readonly name = 'OpenWireCodecError';
}

/** A command refused: answered with an ExceptionResponse naming `javaClass`. */
export class OpenWireCommandError extends Error {
  override readonly name = 'OpenWireCommandError';
  constructor(
    message: string,
    readonly javaClass = 'javax.jms.JMSException',
  ) {
    super(message);
  }
}

/** The Java exception a core error becomes, so that the client raises the JMSException subclass it means. */
export function javaClassOf(err: unknown): string {
  if (err instanceof OpenWireCommandError) return err.javaClass;
  if (err instanceof JunctionError) return JAVA_CLASS[err.code] ?? 'javax.jms.JMSException';
  return 'javax.jms.JMSException';
}

const JAVA_CLASS: Partial<Record<ErrorCode, string>> = {
  'not-authorized': 'javax.jms.JMSSecurityException',
  'not-authenticated': 'javax.jms.JMSSecurityException',
  'invalid-selector': 'javax.jms.InvalidSelectorException',
  'invalid-destination': 'javax.jms.InvalidDestinationException',
  'not-found': 'javax.jms.InvalidDestinationException',
  'resource-limit': 'javax.jms.ResourceAllocationException',
  'queue-full': 'javax.jms.ResourceAllocationException',
};
