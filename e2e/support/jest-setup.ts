// Every e2e test drives the real nx CLI (seconds) or a real kernel build (minutes).
jest.setTimeout(60 * 60 * 1000);
