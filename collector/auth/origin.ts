import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Where data comes from, decided by the sender's credential and never by the payload: the mesh, the
 * cluster or VM group, and the network. It is stamped on every record as resource attributes.
 */
export interface Origin {
  mesh: string;
  /** Kubernetes cluster or VM group name. */
  cluster: string;
  network?: string | undefined;
  kind: 'cluster' | 'vm';
}

/** Resource attribute keys the collector writes; any value a payload brings for them is replaced. */
export const ORIGIN_ATTRIBUTES = {
  mesh: 'meshsight.origin.mesh',
  cluster: 'meshsight.origin.cluster',
  network: 'meshsight.origin.network',
  kind: 'meshsight.origin.kind',
} as const;

export interface TokenGrant {
  token?: string | undefined;
  tokenFile?: string | undefined;
  origin: Origin;
}

/** The credential was missing or unknown. `reason` is safe to send back to the sender. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

export interface Authenticator {
  /** The origin for a bearer token (or a verified client certificate's subject), else throws. */
  authenticate(credential: { bearer?: string | undefined; certificateSubject?: string | undefined }): Origin;
}

/**
 * Checks bearer tokens by comparing SHA-256 digests in constant time, so a response time says nothing
 * about how much of a guess was right. Client certificates map to an origin by their subject CN.
 */
export function createAuthenticator(options: {
  tokens: TokenGrant[];
  certificates?: Array<{ subject: string; origin: Origin }>;
  /** Origin of unauthenticated senders, for demos on loopback; unset refuses them. */
  anonymous?: Origin | undefined;
}): Authenticator {
  const grants = options.tokens.map((grant, index) => {
    const token = grant.token ?? (grant.tokenFile ? readFileSync(grant.tokenFile, 'utf8').trim() : undefined);
    if (!token) throw new Error(`collector.auth.tokens[${index}] needs token or tokenFile`);
    return { digest: sha256(token), origin: grant.origin };
  });
  const bySubject = new Map((options.certificates ?? []).map((c) => [c.subject, c.origin]));
  return {
    authenticate({ bearer, certificateSubject }) {
      if (certificateSubject) {
        const origin = bySubject.get(certificateSubject);
        if (origin) return origin;
      }
      if (bearer) {
        const digest = sha256(bearer);
        let found: Origin | undefined;
        for (const grant of grants) if (timingSafeEqual(grant.digest, digest)) found ??= grant.origin;
        if (found) return found;
        throw new AuthenticationError('the bearer token is not valid');
      }
      if (options.anonymous) return options.anonymous;
      throw new AuthenticationError('a bearer token (Authorization: Bearer …) or a client certificate is required');
    },
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** `Bearer abc` -> `abc`; anything else -> undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
}
