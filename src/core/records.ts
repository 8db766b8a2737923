// The stored records an adapter reads or hands to the core (an MQTT session's record, the limits
// of a subscription's queue): the store defines them, and adapters reach them through the core,
// never from src/store/ directly.
export type { SecurityRecord, SessionRecord, SubscriptionLimits, SubscriptionReader } from '../store/store.ts';
