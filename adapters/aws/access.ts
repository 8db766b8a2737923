// The authorization map, as the AWS APIs ask it: a permission on a queue or topic, refused with
// the API's own error (SQS AccessDenied, SNS AuthorizationError) and written to the audit trail;
// and whether a caller may use a destination at all (what List operations show it).
import type { Destination } from '../../src/core/destination.ts';
import type { Permission, Principal } from '../../src/core/principal.ts';
import type { SecurityService } from '../../src/security/security-service.ts';
import type { AwsError } from './errors.ts';

export function authorize(
  security: SecurityService,
  principal: Principal,
  permission: Permission,
  d: Destination,
  refuse: (message: string) => AwsError,
): void {
  if (security.isAllowed(principal, permission, d)) return;
  security.audit.refused(principal.username, permission, `${d.kind}://${d.name}`, undefined);
  throw refuse(`User ${principal.username} is not authorized to ${permission} ${d.kind} ${d.name}`);
}

export function mayUse(security: SecurityService, principal: Principal, d: Destination): boolean {
  return (['read', 'write', 'admin'] as const).some((p) => security.isAllowed(principal, p, d));
}
