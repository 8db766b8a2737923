// Why a CONNECT was refused, in words both engines answer: aedes (MQTT 3.1/3.1.1) reads
// `returnCode` from the error its authenticate hook gets; the MQTT 5 engine sends `reasonCode`.
import { JunctionError } from '../../src/shared/errors.ts';

export type ConnectRefusalKind = 'client-id' | 'unavailable' | 'bad-credentials' | 'not-authorized' | 'over-limit';

const V3: Record<ConnectRefusalKind, 2 | 3 | 4 | 5> = {
  'client-id': 2,
  unavailable: 3,
  'over-limit': 3,
  'bad-credentials': 4,
  'not-authorized': 5,
};

const V5: Record<ConnectRefusalKind, number> = {
  'client-id': 0x85,
  unavailable: 0x88,
  'over-limit': 0x97,
  'bad-credentials': 0x86,
  'not-authorized': 0x87,
};

export class ConnectRefusal extends JunctionError {
  constructor(
    message: string,
    readonly kind: ConnectRefusalKind,
  ) {
    super('protocol', message, { refusal: kind });
  }

  /** The MQTT 3.1.1 CONNACK return code. */
  get returnCode(): 2 | 3 | 4 | 5 {
    return V3[this.kind];
  }

  /** The MQTT 5 CONNACK reason code. */
  get reasonCode(): number {
    return V5[this.kind];
  }
}
