export * from './kernel-spec';
export * from './input-hash';
