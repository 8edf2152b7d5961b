/** One challenge of a `WWW-Authenticate` header: its scheme (lowercased) and its parameters (names lowercased). */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 9110 §11.6.1), which may hold several challenges, e.g.
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push"`.
 * Quoted values may contain commas and escaped quotes, which is why this is not a split(',').
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let position = 0;
  const skip = (characters: string) => {
    while (position < header.length && characters.includes(header[position])) position += 1;
  };
  const readUntil = (stops: string) => {
    const start = position;
    while (position < header.length && !stops.includes(header[position])) position += 1;
    return header.slice(start, position);
  };
  const readQuoted = () => {
    let value = '';
    position += 1;
    while (position < header.length && header[position] !== '"') {
      if (header[position] === '\\' && position + 1 < header.length) position += 1;
      value += header[position];
      position += 1;
    }
    position += 1;
    return value;
  };

  while (position < header.length) {
    skip(' \t,');
    if (position >= header.length) break;
    const token = readUntil(' \t,=');
    skip(' \t');
    if (header[position] === '=') {
      position += 1;
      skip(' \t');
      const value = header[position] === '"' ? readQuoted() : readUntil(' \t,');
      const current = challenges[challenges.length - 1];
      if (current && token !== '') current.params[token.toLowerCase()] = value;
    } else if (token !== '') {
      challenges.push({ scheme: token.toLowerCase(), params: {} });
    }
  }
  return challenges;
}

/** The challenge we answer: Bearer (token flow) when offered, else Basic; undefined for anything else. */
export function pickSupportedChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((challenge) => challenge.scheme === 'bearer' && challenge.params.realm) ??
    challenges.find((challenge) => challenge.scheme === 'basic');
}
