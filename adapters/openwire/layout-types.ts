// The vocabulary of the OpenWire layout table (layouts.ts): how each field is encoded, and what a
// decoded data structure looks like to the rest of the adapter.

/**
 * A field's encoding. `cached`: a data structure the marshalling cache may replace by an index;
 * `nested`: a data structure inline (or null); `array`: a counted list of nested ones; `bytes`: a
 * length-prefixed byte sequence (or null); `const8`: exactly 8 bytes; `throwable`: a Java exception.
 */
export type FieldKind =
  'boolean' | 'byte' | 'short' | 'int' | 'long' | 'string' | 'bytes' | 'const8' | 'cached' | 'nested' | 'array' | 'throwable';

/** [name, kind, first wire version that has it (absent: every version)]. */
export type Field = readonly [name: string, kind: FieldKind, since?: number];

export interface Layout {
  /** The type byte on the wire; absent for the abstract layouts others extend. */
  readonly type?: number;
  readonly parent: string | null;
  /** The first wire version that has the structure at all. */
  readonly since?: number;
  readonly fields: readonly Field[];
}

/** A Java exception as OpenWire carries it: its class name (the client maps it) and message. */
export interface WireThrowable {
  readonly className: string;
  readonly message: string | null;
}

export type WireValue = boolean | number | string | Uint8Array | WireThrowable | Struct | Struct[] | null;

/**
 * A decoded data structure: its type byte and its fields by name (absent fields are null or 0). The
 * type byte is `dataType`, not `type`: Message and TransactionInfo have fields named `type`.
 */
export interface Struct {
  readonly dataType: number;
  [field: string]: WireValue | undefined;
}
