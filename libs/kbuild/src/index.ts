export * from './arch';
export * from './toolchain';
export * from './make';
export * from './configure';
export * from './artifacts';
export * from './external-modules';
export * from './perf';
