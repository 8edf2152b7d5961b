export {
  parseImageReference,
  formatImageReference,
  manifestReferenceOf,
  isValidRepository,
  isValidTag,
  isValidRegistry,
  isValidManifestReference,
  DOCKER_HUB,
} from './image-reference';
export type { ImageReference } from './image-reference';
export { resolveRegistryEndpoint, isLoopbackHost } from './registry-endpoint';
export type { RegistryEndpoint } from './registry-endpoint';
export { parseWwwAuthenticate } from './www-authenticate';
export type { AuthChallenge } from './www-authenticate';
export { resolveDockerConfigPath, findDockerConfigCredentials, loadDockerConfigCredentials } from './docker-config';
export type { RegistryCredentials, DockerConfigFile, DockerConfigCredentialSource } from './docker-config';
export { createRegistryClient } from './registry-client';
export type { RegistryClient, RegistryClientOptions, BlobToUpload, BlobUploadResult, RemoteManifest } from './registry-client';
export { mergeImageIndex, samePlatform, formatPlatform, platformsOf } from './image-index-merge';
export type { PlatformManifest } from './image-index-merge';
export { ANY_MANIFEST_MEDIA_TYPES, DOCKER_MANIFEST_LIST, ociArchitecture, findPlatformEntry, parseManifestDocument } from './manifest-document';
export type { Platform, ManifestDocument } from './manifest-document';
export { pushImageLayout } from './push-image-layout';
export type { PushImageLayoutOptions, PushedImage } from './push-image-layout';
export { pushIndex } from './push-index';
export type { PushIndexOptions, PushedIndex } from './push-index';
export { pullImageToLayout } from './pull-image';
export type { PullImageOptions, PulledImage } from './pull-image';
export { findRemoteImage } from './find-remote-image';
export type { RemoteImage } from './find-remote-image';
