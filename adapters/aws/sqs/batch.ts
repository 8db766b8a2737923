// The rules every SQS batch request shares: 1 to 10 entries, ids of 1 to 80 letters, digits,
// hyphens and underscores, distinct.
import { modelled } from '../errors.ts';
import type { JsonObject, ServiceModel } from '../model/shape.ts';

const MAX_ENTRIES = 10;

export function checkBatch(model: ServiceModel, entries: JsonObject[]): void {
  if (entries.length === 0) throw modelled(model, 'EmptyBatchRequest', 'There should be at least one entry in the request.');
  if (entries.length > MAX_ENTRIES) {
    throw modelled(
      model,
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const e of entries) {
    const id = e.Id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw modelled(
        model,
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (seen.has(id)) throw modelled(model, 'BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
  }
}
