// The errors the AWS APIs answer with: the code a query-protocol client reads (`<Code>`, and the
// `x-amzn-query-error` header a JSON client with query compatibility reads), the JSON protocol's
// `__type`, the HTTP status, and whose fault it is. Modelled errors come from the service model's
// error shapes; the common ones (parameters, signatures, access) are AWS's own across services.
import type { ServiceModel } from './model/shape.ts';

export class AwsError extends Error {
  constructor(
    /** The query protocol's error code (AWS.SimpleQueueService.NonExistentQueue...). */
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly sender = true,
    /** The JSON protocol's shape name, when it differs from the code (QueueDoesNotExist...). */
    readonly shape: string = code,
  ) {
    super(message);
    this.name = 'AwsError';
  }
}

/** An error the service model names (its shape), with the code and status the model gives it. */
export function modelled(model: ServiceModel, shape: string, message: string): AwsError {
  const e = model.errors[shape];
  if (!e) return new AwsError(shape, message);
  return new AwsError(e.code, message, e.status, e.sender, shape);
}

export const invalidParameter = (message: string): AwsError => new AwsError('InvalidParameterValue', message);
export const missingParameter = (name: string): AwsError =>
  new AwsError('MissingParameter', `The request must contain the parameter ${name}.`);
export const invalidAction = (action: string): AwsError =>
  new AwsError('InvalidAction', `The action or operation requested is invalid. Verify that the action is typed correctly: ${action}`);
export const accessDenied = (message: string): AwsError => new AwsError('AccessDenied', message, 403);
export const signatureMismatch = (message: string): AwsError => new AwsError('SignatureDoesNotMatch', message, 403);
export const unknownAccessKey = (): AwsError =>
  new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
export const missingAuthentication = (): AwsError =>
  new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
export const internalFailure = (): AwsError =>
  new AwsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500, false);
export const serviceUnavailable = (message: string): AwsError => new AwsError('ServiceUnavailable', message, 503, false);
