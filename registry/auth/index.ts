// Registry authentication: credentials lookup, login/logout, challenge and token handling.
export { lookupCredentials, parseCredsFlag, authFileCandidates, defaultAuthFile, type Credentials, type CredentialOptions } from './credentials.js';
export { login, logout, normalizeRegistryKey, type LoginOptions } from './login.js';
export { parseChallenge, type Challenge } from './challenge.js';
export { AuthSession } from './session.js';
