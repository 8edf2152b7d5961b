import { describeRegistryResponse, parseRegistryErrors } from './registry-error-body';

describe('describeRegistryResponse', () => {
  it('quotes each error code, message and detail', () => {
    const body = JSON.stringify({
      errors: [
        { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:abc' },
        { code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: { reason: 'bad layer' } },
      ],
    });
    expect(describeRegistryResponse(400, 'Bad Request', body)).toBe(
      '400 MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:abc); MANIFEST_INVALID: manifest invalid ({"reason":"bad layer"})',
    );
  });

  it('drops empty details and falls back to the status and the start of a non-JSON body', () => {
    expect(describeRegistryResponse(500, 'Internal Server Error', '{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{}}]}')).toBe(
      '500 UNKNOWN: unknown error',
    );
    expect(describeRegistryResponse(502, 'Bad Gateway', '<html>\n  <body>upstream down</body></html>')).toBe(
      '502 Bad Gateway: <html> <body>upstream down</body></html>',
    );
    expect(describeRegistryResponse(404, 'Not Found', '')).toBe('404 Not Found');
    expect(describeRegistryResponse(413, '', 'x'.repeat(500))).toMatch(/^413: x{200}…$/);
  });

  it('parses nothing from bodies that are not registry errors', () => {
    expect(parseRegistryErrors('{"message":"no"}')).toEqual([]);
    expect(parseRegistryErrors('[1]')).toEqual([]);
  });
});
