// The memory store against the Store contract.
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import { describeStoreContract } from './store-contract.ts';

let data = new MemoryData();
describeStoreContract('memory', {
  async reset() {
    data = new MemoryData();
  },
  async handle(epoch) {
    return new MemoryStore(epoch, data);
  },
});
