/** How long the cluster's certificates are valid (the CLI checks flags against these, the CA issues by them). */

/** Roots (Swarm: 20 years). */
export const ROOT_VALIDITY_MS = 20 * 365 * 24 * 3600_000;

/** Node certificates, unless `--cert-expiry` says otherwise (Swarm: 90 days). */
export const DEFAULT_CERT_EXPIRY_MS = 90 * 24 * 3600_000;

/** The shortest `--cert-expiry` accepted (Swarm: 1 hour; tests need shorter, so a minute). */
export const MIN_CERT_EXPIRY_MS = 60_000;
