import { PackageIdentity } from './package-identity';
import { PackageEntry } from './package-root-rules';
import { planRepackage, surveyPackage } from './repackage-plan';

const RELEASE = '6.1.0-57-cloud-amd64';

function deb(name: string, arch = 'amd64', version = '6.1.192-3'): PackageIdentity {
  return { file: `/debs/${name}_${version}_${arch}.deb`, format: 'deb', name, version, arch };
}

const files = (...paths: string[]): PackageEntry[] => paths.map((name) => ({ path: name, type: 'file' }));

const image = () => surveyPackage(deb(`linux-image-${RELEASE}`), files(`boot/vmlinuz-${RELEASE}`, `boot/System.map-${RELEASE}`, `lib/modules/${RELEASE}/kernel/lib/crc-itu-t.ko`));
const headers = () => surveyPackage(deb(`linux-headers-${RELEASE}`), files(`usr/src/linux-headers-${RELEASE}/Makefile`, `lib/modules/${RELEASE}/build`));
const common = () => surveyPackage(deb('linux-headers-6.1.0-57-common', 'all'), files('usr/src/linux-headers-6.1.0-57-common/Makefile'));

describe('surveyPackage', () => {
  it('finds boot images, module releases, header trees and UAPI headers by member name', () => {
    const fedora = surveyPackage(
      { file: 'kernel-core.rpm', format: 'rpm', name: 'kernel-core', version: '6.8.5-301.fc40', arch: 'x86_64' },
      files('lib/modules/6.8.5-301.fc40.x86_64/vmlinuz', 'usr/src/kernels/6.8.5-301.fc40.x86_64/Makefile', 'usr/include/linux/types.h', 'usr/lib/debug/lib/modules/6.8.5-301.fc40.x86_64/x.ko.debug'),
    );
    expect(fedora).toMatchObject({
      kernelImages: [{ path: 'lib/modules/6.8.5-301.fc40.x86_64/vmlinuz', release: '6.8.5-301.fc40.x86_64' }],
      moduleReleases: ['6.8.5-301.fc40.x86_64'],
      headerTrees: ['usr/src/kernels/6.8.5-301.fc40.x86_64'],
      uapiHeaders: true,
    });
  });
});

describe('planRepackage', () => {
  it('plans one kernel from Debian’s image, headers and -common', () => {
    const plan = planRepackage([headers(), image(), common()], 'x86_64');
    expect(plan).toMatchObject({ release: RELEASE, format: 'deb', kernelImage: `boot/vmlinuz-${RELEASE}`, headersTree: `usr/src/linux-headers-${RELEASE}`, uapiHeaders: false });
    expect(plan.image.name).toBe(`linux-image-${RELEASE}`);
    expect([...plan.headerTreeOwners.keys()].sort()).toEqual(['usr/src/linux-headers-6.1.0-57-cloud-amd64', 'usr/src/linux-headers-6.1.0-57-common']);
  });

  it('refuses two images, naming both', () => {
    const other = surveyPackage(deb('linux-image-6.1.0-56-cloud-amd64'), files('boot/vmlinuz-6.1.0-56-cloud-amd64'));
    expect(() => planRepackage([image(), other, headers()], 'x86_64')).toThrow(
      `more than one kernel image: ${RELEASE} in linux-image-${RELEASE} 6.1.192-3 (linux-image-${RELEASE}_6.1.192-3_amd64.deb); 6.1.0-56-cloud-amd64 in linux-image-6.1.0-56-cloud-amd64 6.1.192-3 (linux-image-6.1.0-56-cloud-amd64_6.1.192-3_amd64.deb)`,
    );
  });

  it('refuses a mix of .deb and .rpm', () => {
    const rpm = surveyPackage({ file: 'kernel-devel.rpm', format: 'rpm', name: 'kernel-devel', version: '1-1', arch: 'x86_64' }, []);
    expect(() => planRepackage([image(), rpm], 'x86_64')).toThrow(/^the packages mix \.deb and \.rpm/);
  });

  it('refuses kernel-devel of another release', () => {
    const core = surveyPackage({ file: 'kernel-core.rpm', format: 'rpm', name: 'kernel-core', version: '6.8.5-301.fc40', arch: 'x86_64' }, files('lib/modules/6.8.5-301.fc40.x86_64/vmlinuz'));
    const devel = surveyPackage({ file: 'kernel-devel.rpm', format: 'rpm', name: 'kernel-devel', version: '6.8.4-300.fc40', arch: 'x86_64' }, files('usr/src/kernels/6.8.4-300.fc40.x86_64/Makefile'));
    expect(() => planRepackage([core, devel], 'x86_64')).toThrow(/^mixed releases: kernel-devel 6\.8\.4-300\.fc40 \(kernel-devel\.rpm\) is for kernel 6\.8\.4-300\.fc40\.x86_64, but the image kernel-core/);
  });

  it('accepts arch-independent packages and refuses foreign ones for the arch asked', () => {
    expect(() => planRepackage([image(), headers(), common()], 'aarch64')).toThrow(/is for amd64, not aarch64 \(arm64\)$/);
  });
});
