// After users or rights change at run time (the admin API), what is already connected is brought
// in line: each signed-in principal gets its user's groups as they now stand, a connection whose
// user was deleted (or an anonymous one, once users exist and anonymous access is not configured)
// is closed, and a consumer of a destination its user may no longer read is
// ended the way its protocol can (the link, the subscription, else the connection), with the
// reason. Topic subscriptions that read only part of their filter are checked per message
// already, against the rights as they stand.
import type { Connections } from './connections.ts';
import type { Authorizer } from './principal.ts';
import { NotAuthorizedError } from '../shared/errors.ts';

export interface AccessReview {
  /** Connections closed: their user no longer exists. */
  connectionsClosed: number;
  /** Consumers ended: their user may no longer read what they consume. */
  consumersEnded: number;
}

export function reviewAccess(connections: Connections, authorizer: Authorizer): AccessReview {
  const review: AccessReview = { connectionsClosed: 0, consumersEnded: 0 };
  if (!authorizer.refresh) return review;
  for (const c of connections.list()) {
    const p = c.principal;
    if (!p) continue;
    if (authorizer.refresh(p) === 'gone') {
      connections.close(c.id, `User ${p.username} may no longer sign in: an administrator deleted it, or ended anonymous access`);
      review.connectionsClosed++;
      continue;
    }
    for (const consumer of c.consumers) {
      if (consumer.closed()) continue;
      const d = consumer.target;
      try {
        if (d.kind === 'topic' && authorizer.readScope) authorizer.readScope(p, d, consumer.clientId);
        else authorizer.check(p, 'read', d, { clientId: consumer.clientId });
      } catch (err) {
        if (!(err instanceof NotAuthorizedError)) throw err;
        consumer.end(`${err.message}: the rights were changed by an administrator`);
        review.consumersEnded++;
      }
    }
  }
  return review;
}
