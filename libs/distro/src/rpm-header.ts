import { readFilePrefix } from './file-prefix';

export const RPM_LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const LEAD_SIZE = 96;
const HEADER_INTRO_SIZE = 16;
const INDEX_ENTRY_SIZE = 16;
const SOURCE_PACKAGE = 1;

const TAG = { name: 1000, version: 1001, release: 1002, epoch: 1003, arch: 1022 } as const;
const TYPE = { int32: 4, string: 6 } as const;

export interface RpmIdentity {
  name: string;
  /** `[epoch:]version-release`, as `rpm -q` prints it. */
  version: string;
  arch: string;
}

/** Where a header structure at `offset` ends; undefined while `bytes` is too short to tell. */
function rpmHeaderEnd(bytes: Buffer, offset: number): number | undefined {
  if (bytes.length < offset + HEADER_INTRO_SIZE) return undefined;
  if (!bytes.subarray(offset, offset + 4).equals(HEADER_MAGIC)) throw new Error(`no rpm header structure at byte ${offset}`);
  const entries = bytes.readUInt32BE(offset + 8);
  const storeSize = bytes.readUInt32BE(offset + 12);
  return offset + HEADER_INTRO_SIZE + entries * INDEX_ENTRY_SIZE + storeSize;
}

/** The main header follows the signature header, which is padded to 8 bytes. */
function mainHeaderOffset(bytes: Buffer): number | undefined {
  const signatureEnd = rpmHeaderEnd(bytes, LEAD_SIZE);
  return signatureEnd === undefined ? undefined : Math.ceil(signatureEnd / 8) * 8;
}

/**
 * Reads name, version and arch from the start of an .rpm (lead, signature header, main header: the
 * layout rpm's own `rpmReadPackageFile` reads). `bytes` must reach the end of the main header.
 */
export function parseRpmIdentity(bytes: Buffer): RpmIdentity {
  if (bytes.length < LEAD_SIZE || !bytes.subarray(0, 4).equals(RPM_LEAD_MAGIC)) throw new Error('no rpm lead');
  if (bytes.readUInt16BE(6) === SOURCE_PACKAGE) throw new Error('it is a source rpm, not a binary package');
  const offset = mainHeaderOffset(bytes);
  const end = offset === undefined ? undefined : rpmHeaderEnd(bytes, offset);
  if (offset === undefined || end === undefined || bytes.length < end) throw new Error('the rpm header is truncated');

  const entries = bytes.readUInt32BE(offset + 8);
  const store = offset + HEADER_INTRO_SIZE + entries * INDEX_ENTRY_SIZE;
  const values = new Map<number, string>();
  for (let i = 0; i < entries; i++) {
    const at = offset + HEADER_INTRO_SIZE + i * INDEX_ENTRY_SIZE;
    const [tag, type, dataOffset] = [bytes.readUInt32BE(at), bytes.readUInt32BE(at + 4), bytes.readUInt32BE(at + 8)];
    if (!Object.values(TAG).includes(tag as never) || store + dataOffset >= end) continue;
    if (type === TYPE.string) {
      const stop = bytes.indexOf(0, store + dataOffset);
      if (stop !== -1 && stop < end) values.set(tag, bytes.toString('utf8', store + dataOffset, stop));
    } else if (type === TYPE.int32 && store + dataOffset + 4 <= end) {
      values.set(tag, String(bytes.readUInt32BE(store + dataOffset)));
    }
  }
  const [name, version, release, arch] = [values.get(TAG.name), values.get(TAG.version), values.get(TAG.release), values.get(TAG.arch)];
  if (!name || !version || !release || !arch) throw new Error('the rpm header has no name, version, release or arch');
  const epoch = values.get(TAG.epoch);
  return { name, version: `${epoch && epoch !== '0' ? `${epoch}:` : ''}${version}-${release}`, arch };
}

/** Reads only as much of the file as the headers take (a kernel-modules header lists thousands of files). */
export async function readRpmIdentity(file: string): Promise<RpmIdentity> {
  let bytes = await readFilePrefix(file, LEAD_SIZE + HEADER_INTRO_SIZE);
  const offset = mainHeaderOffset(bytes);
  if (offset === undefined) throw new Error('the rpm header is truncated');
  bytes = await readFilePrefix(file, offset + HEADER_INTRO_SIZE);
  const end = rpmHeaderEnd(bytes, offset);
  if (end === undefined) throw new Error('the rpm header is truncated');
  return parseRpmIdentity(await readFilePrefix(file, end));
}
