/** Types of cluster-store.cjs (where `npm run cluster` keeps its chats). */
import type { RedisServer } from '@arc/devkit';

export declare const DEFAULT_KEY_PREFIX: string;

export type StoreChoice =
  | { memory: true; redisUrl?: undefined }
  | { memory?: false; redisUrl: string; from: 'flag' | 'env' }
  | { memory?: false; redisUrl?: undefined };
export interface StoreFacts {
  redisAnswers: boolean;
  redisServer: string | null;
}
export type StorePlan =
  | { store: 'redis'; url: string; from: 'flag' | 'env' | 'default'; financeReplicas: number }
  | { store: 'private-redis'; binary: string; financeReplicas: number }
  | { store: 'memory'; from: 'flag' | 'fallback'; financeReplicas: number; note?: string };

export declare function planStore(choice: StoreChoice, facts: StoreFacts | undefined, financeReplicas: number): StorePlan;
export declare function probeDefaults(options?: { timeoutMs?: number }): Promise<StoreFacts>;
export interface OpenStore {
  env: { REDIS_URL: string; REDIS_KEY_PREFIX: string };
  summary: string;
  redis: RedisServer | undefined;
  stop(): Promise<void>;
}
export declare function openStore(plan: StorePlan, options?: { keyPrefix?: string }): Promise<OpenStore>;
