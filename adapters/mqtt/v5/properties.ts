// Checks on MQTT 5 properties that mqtt-packet's parser leaves to the receiver. It reads a property
// that appears twice into an array instead of failing, and the specification makes a second copy
// of any property but User Property (and Subscription Identifier, in a PUBLISH from the broker) a
// Protocol Error (§2.2.2.2).

/** The name of a property that appears more than once where it must be unique, or undefined. */
export function duplicateProperty(properties: object | undefined): string | undefined {
  if (!properties) return undefined;
  for (const [name, value] of Object.entries(properties)) {
    if (name !== 'userProperties' && Array.isArray(value)) return name;
  }
  return undefined;
}
