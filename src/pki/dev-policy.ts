/**
 * The certificatePolicies OID `unified-id dev-ca` puts on certificates it creates on a SoftHSM2
 * token, as a real CA marks those it issues on USB keys. Trusted as hardware outside production
 * only (with certs/dev/). Under 2.999, the arc ITU-T X.660 keeps for examples, which no real CA
 * issues under (a 2.25 UUID OID would do too, but asn1js can not encode an arc that large).
 */
export const DEV_HARDWARE_POLICY_OID = '2.999.1201.1';
