// Types for the one part of mqtt-packet without them: its table of MQTT 5 property ids and types.
declare module 'mqtt-packet/constants.js' {
  const constants: {
    /** Property id -> name (mqtt-packet's names, e.g. 0x26 -> userProperties). */
    propertiesCodes: Record<number, string>;
    /** Property name -> value type ('byte', 'int16', 'int32', 'var', 'string', 'binary', 'pair'...). */
    propertiesTypes: Record<string, string>;
  };
  export default constants;
}
