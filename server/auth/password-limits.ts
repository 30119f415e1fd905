/** Password length rules, shared by the hashing code and the (browser-safe) form schemas. */
export const MAX_PASSWORD_LENGTH = 128;
export const MIN_PASSWORD_LENGTH = 8;
