export * from './work-paths';
export * from './steps';
export * from './config-edit';
export * from './module-steps';
export * from './patch-maintenance';
export * from './perf-steps';
export * from './publish';
export * from './distro-steps';
