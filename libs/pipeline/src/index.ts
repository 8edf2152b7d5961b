export * from './work-paths';
export * from './steps';
