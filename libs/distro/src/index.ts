export { repackageDistroKernel } from './repackage-distro-kernel';
export type { RepackageDistroKernelOptions, RepackagedKernel } from './repackage-distro-kernel';
export type { DistroArch } from './repackage-plan';
export { identifyPackage } from './package-identity';
export type { PackageFormat, PackageIdentity } from './package-identity';
