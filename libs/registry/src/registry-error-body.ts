/** One entry of the `{"errors": [...]}` body the distribution spec gives every failed request. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

const DETAIL_MAX_CHARS = 300;
const TEXT_MAX_CHARS = 200;

export function parseRegistryErrors(body: string): RegistryErrorEntry[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors
      .filter((entry): entry is Record<string, unknown> => entry !== null && typeof entry === 'object')
      .map((entry) => ({
        code: typeof entry.code === 'string' ? entry.code : 'UNKNOWN',
        message: typeof entry.message === 'string' ? entry.message : undefined,
        detail: entry.detail,
      }));
  } catch {
    return [];
  }
}

function describeDetail(detail: unknown): string | undefined {
  if (detail === undefined || detail === null || detail === '') return undefined;
  if (typeof detail === 'object' && Object.keys(detail).length === 0) return undefined;
  const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  return text.length > DETAIL_MAX_CHARS ? `${text.slice(0, DETAIL_MAX_CHARS)}…` : text;
}

/**
 * What a registry said, for an error message: `400 MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:…)`.
 * Falls back to the start of a non-JSON body (a proxy's HTML page, say) so the user still sees something.
 */
export function describeRegistryResponse(status: number, statusText: string, body: string): string {
  const errors = parseRegistryErrors(body);
  if (errors.length === 0) {
    const text = body.replace(/\s+/g, ' ').trim();
    const excerpt = text.length > TEXT_MAX_CHARS ? `${text.slice(0, TEXT_MAX_CHARS)}…` : text;
    return [`${status} ${statusText}`.trim(), excerpt].filter(Boolean).join(': ');
  }
  const described = errors.map((entry) => {
    const detail = describeDetail(entry.detail);
    return `${entry.code}${entry.message ? `: ${entry.message}` : ''}${detail ? ` (${detail})` : ''}`;
  });
  return `${status} ${described.join('; ')}`;
}
