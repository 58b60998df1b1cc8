import type { FlowStateStore } from '../../src/state/flow-state-store.js';

/** flow_states as a map, for unit tests: what the typed layer writes, and a way to tamper with it. */
export function memoryFlowStateStore() {
  const rows = new Map<string, { data: Record<string, unknown>; ttl: number }>();
  const store = {
    put: async (id: string, data: Record<string, unknown>, ttl: number) => void rows.set(id, { data, ttl }),
    get: async (id: string) => rows.get(id)?.data,
    take: async (id: string) => {
      const row = rows.get(id);
      rows.delete(id);
      return row?.data;
    },
    remove: async (id: string) => void rows.delete(id),
  } as unknown as FlowStateStore;
  return { rows, store };
}
