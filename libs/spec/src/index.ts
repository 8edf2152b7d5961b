export * from './kernel-spec';
export * from './module-spec';
export * from './input-hash';
export { parseValidatedYaml } from './validated-yaml';
export * from './distro-spec';
