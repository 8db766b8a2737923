// MQTT 5 reason codes (§2.4) by name, and which one answers each core error: a refused PUBLISH gets
// a negative PUBACK/PUBREC, a refused SUBSCRIBE a SUBACK code, and the errors that mean "this
// broker cannot take it now" a DISCONNECT without acknowledgement, so the client sends again after
// reconnecting (to the new active broker after a failover).

export const RC = {
  success: 0x00,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  disconnectWithWill: 0x04,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  clientIdNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdNotFound: 0x92,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
} as const;

/** Core error codes after which the connection closes unacknowledged: the client resends elsewhere or later. */
const NOT_NOW: Record<string, number> = {
  fenced: RC.serverShuttingDown,
  closed: RC.serverShuttingDown,
  'store-unavailable': RC.serverBusy,
};

/** The DISCONNECT code for a core error the client should retry after reconnecting, or undefined. */
export function retryLaterCode(errorCode: string): number | undefined {
  return NOT_NOW[errorCode];
}

/** The PUBACK / PUBREC reason code for a refused PUBLISH (or the DISCONNECT code for a refused QoS 0 one). */
export function publishRefusalCode(errorCode: string): number {
  switch (errorCode) {
    case 'not-authorized':
    case 'not-authenticated':
      return RC.notAuthorized;
    case 'invalid-destination':
      return RC.topicNameInvalid;
    case 'queue-full':
    case 'resource-limit':
      return RC.quotaExceeded;
    default:
      return RC.unspecified;
  }
}

/** The SUBACK reason code for a refused subscription. */
export function subscribeRefusalCode(refused: string): number {
  switch (refused) {
    case 'invalid-filter':
    case 'invalid-destination':
      return RC.topicFilterInvalid;
    case 'not-authorized':
    case 'not-authenticated':
      return RC.notAuthorized;
    case 'resource-limit':
    case 'queue-full':
      return RC.quotaExceeded;
    default:
      return RC.unspecified;
  }
}
