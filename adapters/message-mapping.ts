// The message mapping across protocols, as data: one row per field of the core message
// (src/core/message.ts); each adapter brings its columns (its `mapping-columns.ts`, named in its
// descriptor) saying where its protocol carries each field, or null where it cannot. The registry
// (adapters/index.ts) puts the table together; docs/message-mapping.md is generated from it
// (scripts/message-mapping.ts, kept in step by a test), and the conversion matrix test
// (test/interop/) asserts, for every ordered pair of columns, exactly the fields both carry.

/** Fields the conversion matrix sends and checks (the rest are documented only). */
export type MatrixField =
  | 'body'
  | 'stringProperty'
  | 'numberProperty'
  | 'booleanProperty'
  | 'correlationId'
  | 'replyTo'
  | 'contentType'
  | 'priority'
  | 'expiresAt'
  | 'dedupId'
  | 'groupId';

/** Every field of the core message the table has a row for. */
export type MappingField =
  MatrixField | 'persistent' | 'type' | 'timestamp' | 'deliverAt' | 'brokerId' | 'messageId' | 'userId' | 'deliveryCount';

export interface FieldRow {
  readonly field: MappingField;
  /** The core message field, as the table shows it. */
  readonly core: string;
  /** Set when the conversion matrix checks this row. */
  readonly matrix?: MatrixField;
}

/** One protocol's column (MQTT has two: 3.1.1 and 5). */
export interface MappingColumn {
  /** The column's key: the conversion matrix names its endpoints by it. */
  readonly key: string;
  /** The column's heading. */
  readonly title: string;
  /** Where the protocol carries each field; null where it cannot. */
  readonly cells: Readonly<Record<MappingField, string | null>>;
  /** What the protocol cannot carry, or carries only one way: listed under the table. */
  readonly lost: readonly string[];
}

export interface MappingRow extends FieldRow {
  /** By column key. */
  readonly cells: Readonly<Record<string, string | null>>;
}

export const FIELDS: readonly FieldRow[] = [
  { field: 'body', core: 'body (bytes)', matrix: 'body' },
  { field: 'contentType', core: 'contentType', matrix: 'contentType' },
  { field: 'stringProperty', core: 'properties: string', matrix: 'stringProperty' },
  { field: 'numberProperty', core: 'properties: number', matrix: 'numberProperty' },
  { field: 'booleanProperty', core: 'properties: boolean', matrix: 'booleanProperty' },
  { field: 'correlationId', core: 'correlationId', matrix: 'correlationId' },
  { field: 'replyTo', core: 'replyTo (queue://X, topic://X)', matrix: 'replyTo' },
  { field: 'priority', core: 'priority (0–9)', matrix: 'priority' },
  { field: 'expiresAt', core: 'expiresAt (absolute ms)', matrix: 'expiresAt' },
  { field: 'dedupId', core: 'dedupId', matrix: 'dedupId' },
  { field: 'groupId', core: 'groupId', matrix: 'groupId' },
  { field: 'persistent', core: 'persistent' },
  { field: 'type', core: 'type' },
  { field: 'timestamp', core: 'timestamp' },
  { field: 'deliverAt', core: 'deliverAt' },
  { field: 'brokerId', core: 'id (the broker’s, unique)' },
  { field: 'messageId', core: 'messageId (the publisher’s)' },
  { field: 'userId', core: 'userId (the authenticated publisher)' },
  { field: 'deliveryCount', core: 'delivery count' },
];

/** The table: one row per field, a cell per column. */
export function mappingRows(columns: readonly MappingColumn[]): MappingRow[] {
  return FIELDS.map((f) => ({ ...f, cells: Object.fromEntries(columns.map((c) => [c.key, c.cells[f.field]])) }));
}
