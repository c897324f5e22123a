/** How long a claim holds without renewal; a worker renews it every third of that. */
export const LEASE_MS = 15_000;
export const RENEW_MS = LEASE_MS / 3;
