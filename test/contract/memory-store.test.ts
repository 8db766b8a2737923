// The memory store against the Store and StreamStore contracts.
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import { describeStoreContract } from './store-contract.ts';
import { describeStreamStoreContract } from './stream-store-contract.ts';

let data = new MemoryData();
describeStoreContract('memory', {
  async reset() {
    data = new MemoryData();
  },
  async handle(epoch) {
    return new MemoryStore(epoch, data);
  },
});

let streamData = new MemoryData();
describeStreamStoreContract('memory', {
  async reset() {
    streamData = new MemoryData();
  },
  async handle(epoch) {
    return new MemoryStore(epoch, streamData);
  },
});
