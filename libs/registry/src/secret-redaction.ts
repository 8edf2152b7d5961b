const REDACTED = '***';

/**
 * Replaces every occurrence of each secret in `text`. Messages are built without secrets in the
 * first place; this is the second line of defence for text a registry or a library hands back
 * (an echoed header, a URL), applied to every log line and error we emit.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let redacted = text;
  // Longest first, so a secret that contains another is not left half-visible; shorter than 4
  // characters, a "secret" would blank out ordinary words (and is no secret).
  const ordered = [...new Set(secrets)].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
  for (const secret of ordered) redacted = redacted.split(secret).join(REDACTED);
  return redacted;
}
