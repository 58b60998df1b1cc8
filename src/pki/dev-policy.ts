/**
 * The certificatePolicies OID `unified-id dev-ca` puts on certificates it creates on a SoftHSM2
 * token, as a real CA marks those it issues on USB keys. Trusted as hardware outside production
 * only (with certs/dev/). A UUID OID (2.25), so it can not collide with a CA's.
 */
export const DEV_HARDWARE_POLICY_OID = '2.25.273342153814970603614738901205883588504';
